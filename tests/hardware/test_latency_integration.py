"""The hardware target's latency predictor in ``describe`` and ``search constraint=latency``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from hardware_helpers import write_tiny_artifact
from omegaconf import OmegaConf

from llmpp.errors import ConfigError
from llmpp.hardware.artifact import LatencyPredictor
from llmpp.stages.describe import describe
from llmpp.stages.search import run_search

MINI = ["task=synthetic_en_de", "space=hat_mini"]
SMALL_SEARCH = ["search.iterations=4", "search.population_size=12", "search.parents=4",
                "search.mutations=4", "search.crossovers=4"]


def _arch_file(tmp_path, arch):
    path = tmp_path / "arch.yaml"
    path.write_text(yaml.safe_dump(arch.to_hat()))
    return path


def test_describe_shows_predicted_latency(compose, tmp_path, mini_space):
    artifact = tmp_path / "lat.pt"
    write_tiny_artifact(artifact, mini_space)
    arch = mini_space.largest()
    cfg = compose("describe", [*MINI, f"arch={_arch_file(tmp_path, arch)}",
                               f"hardware.latency_predictor={artifact}"])
    payload = describe(cfg)
    expected = LatencyPredictor.load(artifact).predict([arch])[0]
    assert payload["latency_ms"] == pytest.approx(expected)
    assert payload["hardware"]["name"] == "cpu" and payload["hardware"]["model"] == "linear"
    json.dumps(payload.to_json())  # printable
    plain = describe(compose("describe", [*MINI, f"arch={_arch_file(tmp_path, arch)}"]))
    assert "latency_ms" not in plain


def test_describe_refuses_artifact_of_another_space(compose, tmp_path, mini_space, paper_space):
    artifact = tmp_path / "lat.pt"
    write_tiny_artifact(artifact, mini_space)
    cfg = compose("describe", ["task=synthetic_en_de", "space=hat_space0",
                               f"arch={_arch_file(tmp_path, paper_space.largest())}",
                               f"hardware.latency_predictor={artifact}"])
    with pytest.raises(ConfigError, match="space=hat_mini"):
        describe(cfg)


def _toy_search(compose, overrides):
    cfg = compose("search", ["logger=none", "search=hs_nas", *SMALL_SEARCH, *overrides])
    cfg.search.predictors = OmegaConf.create({
        name: {"_target_": "llmpp.testing.toy.ToyPredictor", "seed": seed, "label": name}
        for name, seed in (("supernet", 1), ("llm_distill", 2))
    })
    cfg.search.tracking.progress = False
    return cfg


def test_search_with_latency_constraint(compose, tmp_path, mini_space):
    artifact = tmp_path / "lat.pt"
    write_tiny_artifact(artifact, mini_space)
    predictor = LatencyPredictor.load(artifact)
    samples = predictor.predict(mini_space.sample(np.random.default_rng(0), 200))
    limit = float(np.percentile(samples, 30))  # binding: most of the space is too slow
    cfg = _toy_search(compose, ["constraint=latency", f"constraint.limit={limit}",
                                f"hardware.latency_predictor={artifact}"])
    payload = run_search(cfg, tmp_path / "run")
    assert payload["constraint"]["type"] == "MaxLatency"
    assert payload["hardware"] == "cpu"
    best = payload["best"]
    assert best["latency_ms"] == pytest.approx(
        predictor.predict([mini_space.from_hat(best["arch"])])[0])
    assert best["latency_ms"] <= limit * (1 + 1e-9)
    assert list((tmp_path / "run").glob("best_cpu_latency-le-*.yaml"))


def test_search_latency_constraint_without_artifact_is_config_error(compose, tmp_path):
    cfg = _toy_search(compose, ["constraint=latency"])
    with pytest.raises(ConfigError, match="latency predictor"):
        run_search(cfg, tmp_path / "run")
