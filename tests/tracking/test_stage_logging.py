"""The shared helpers: flattened metrics, scrubbed configs, logger=none/csv."""

from __future__ import annotations

import csv

from omegaconf import OmegaConf
from tracking_helpers import SECRET, assert_no_secret

from llmpp.tracking.stage_logging import artifact_name, flatten, log_stage, loggable_config
from llmpp.utils.secrets import REDACTED, scrub, secret_values


def test_flatten_keeps_numbers_under_path_keys():
    nested = {"wmt": {"mae": {"mean": 0.5, "std": 0.1}, "seeds": {"1": {"mae": 0.4,
              "predictions": [1, 2]}}}, "ok": True, "name": "linear", "none": None}
    assert flatten(nested) == {"wmt/mae/mean": 0.5, "wmt/mae/std": 0.1,
                               "wmt/seeds/1/mae": 0.4, "ok": 1.0}


def test_scrub_drops_credential_keys_and_secret_values():
    config = {"llm": {"api_key": "x", "max_tokens": 16, "hf_token": "t", "password": "p",
                      "headers": {"Authorization": "Bearer y"}},
              "note": f"use {SECRET}", "items": [SECRET, "fine"], "usage": {"prompt_tokens": 3}}
    assert scrub(config, [SECRET]) == {
        "llm": {"max_tokens": 16, "headers": {}}, "note": REDACTED,
        "items": [REDACTED, "fine"], "usage": {"prompt_tokens": 3}}


def test_secret_values_come_from_credential_named_variables():
    env = {"OPENAI_API_KEY": SECRET, "HF_TOKEN": "hf_abcdefgh", "MY_PASSWORD": "short",
           "HOME": "/root/somewhere"}
    assert secret_values(env) == sorted([SECRET, "hf_abcdefgh"])


def test_loggable_config_resolves_then_scrubs():
    cfg = OmegaConf.create({"llm": {"model": "m", "org": "${oc.env:OPENAI_API_KEY}"}})
    assert loggable_config(cfg) == {"llm": {"model": "m", "org": REDACTED}}


def test_logger_none_writes_nothing(tmp_path):
    none = OmegaConf.create({"_target_": None})
    log_stage(none, tmp_path / "run", stage="x", task="t", config={}, metrics={"a": 1})
    log_stage(None, tmp_path / "run", stage="x", task="t", config={}, metrics={"a": 1})
    assert not list(tmp_path.iterdir())


def test_csv_logger_gets_flat_metrics_and_a_scrubbed_config(tmp_path):
    logger = OmegaConf.load("conf/logger/csv.yaml")
    config = OmegaConf.create({"seed": 1, "api_key": "${oc.env:OPENAI_API_KEY}",
                               "llm": {"base": "${oc.env:OPENAI_API_KEY}"}})
    log_stage(logger, tmp_path, stage="label", task="t", config=config,
              metrics={"total": {"usd": 0.25, "llm_calls": 4}}, images={"x": tmp_path / "no.png"},
              files=[tmp_path / "label.json"])
    (metrics,) = tmp_path.rglob("metrics.csv")
    (row,) = csv.DictReader(metrics.open())
    assert float(row["total/usd"]) == 0.25 and float(row["total/llm_calls"]) == 4
    (hparams,) = tmp_path.rglob("hparams.yaml")
    assert "seed: 1" in hparams.read_text()
    assert_no_secret(tmp_path)


def test_artifact_names_are_what_wandb_accepts():
    assert artifact_name("benchmark-wmt14_en_de-predictor=linear") == \
        "benchmark-wmt14_en_de-predictor_linear"
    assert artifact_name("label-x-labels=…/a b.jsonl") == "label-x-labels_a_b.jsonl"
