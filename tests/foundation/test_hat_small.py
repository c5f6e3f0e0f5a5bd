"""``space=hat_small``: hat_space0's structure at CPU widths, accepted by every stage.

Composition with every stage is ``test_configs.py::test_every_option_composes``'s job
(it walks every option of every group); here: the structure, the numbers its header
states, the encodings whose sizes follow the depths, and each stage run on it at a tiny
budget (the training ones slow).
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from omegaconf import OmegaConf

from llmpp.config import build

ROOT = Path(__file__).resolve().parents[2]
SPACE_FILE = ROOT / "conf" / "space" / "hat_small.yaml"
TINY = ["task=synthetic_en_de", "space=hat_small", "task.data.sizes.train=300",
        "task.data.sizes.valid=16", "task.data.sizes.test=16", "data.max_tokens=512",
        "optim.warmup_steps=1", "trainer.accelerator=cpu", "~callbacks.progress"]


@pytest.fixture(scope="module")
def small_space():
    return build(OmegaConf.load(SPACE_FILE), "space")


def _space_stats():
    spec = importlib.util.spec_from_file_location("space_stats", ROOT / "benchmarks" /
                                                  "space_stats.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hat_small_has_hat_space0s_structure(small_space, paper_space, mini_space) -> None:
    for key in ("encoder_layer_num", "decoder_layer_num", "decoder_arbitrary_ende_attn"):
        assert small_space.choices[key] == paper_space.choices[key], key
    for key in ("encoder_embed_dim", "encoder_ffn_embed_dim", "decoder_ffn_embed_dim"):
        assert small_space.choices[key] == mini_space.choices[key], key  # CPU widths
    assert small_space.qkv_dim == mini_space.qkv_dim
    assert small_space.gene_length() == paper_space.gene_length() == 4 + 2 * 6 + 4 * 6
    assert len({small_space.hash(), paper_space.hash(), mini_space.hash()}) == 3
    arch = small_space.sample(np.random.default_rng(0))
    assert small_space.from_gene(small_space.to_gene(arch)) == arch


@pytest.mark.slow
def test_the_header_states_what_the_code_computes(small_space) -> None:
    stats = _space_stats()
    computed = stats.space_stats(small_space, vocab_size=1000, samples=5000)
    header = SPACE_FILE.read_text().split("_target_")[0]
    assert f"{computed['architectures']:,}" in header
    assert f"{computed['gflops_min']}-{computed['gflops_max']} GFLOPs" in header
    assert f"median {computed['gflops_median']} over" in header
    limit = float(re.search(r"constraint\.limit=([0-9]+(?:\.[0-9]+)?)", header).group(1))
    assert abs(limit - computed["gflops_median"]) / computed["gflops_median"] < 0.05
    # The count is the product of the choices, depth by depth: hat_mini's by hand.
    mini = build(OmegaConf.load(ROOT / "conf" / "space" / "hat_mini.yaml"), "space")
    per_enc, per_dec = 3 * 2, 3 * 2 * 2 * 3
    assert stats.space_size(mini) == 2 * per_enc**3 * 2 * (per_dec + per_dec**2 + per_dec**3)


def test_distill_features_follow_the_six_layer_depths(small_space) -> None:
    from llmpp.distill.features import FeatureEncoder

    archs = small_space.sample(np.random.default_rng(1), 12)
    fine = FeatureEncoder(small_space, "fine")
    assert fine.dim == 4 + 2 * 6 + 4 * 6
    rows = fine.encode(archs)
    assert rows.shape == (12, fine.dim)
    np.testing.assert_allclose(rows, small_space.encode(archs, "fine"), rtol=1e-6)
    assert FeatureEncoder(small_space, "hat").encode(archs).shape == (12, 10)


def test_latency_features_encode_hat_small(small_space) -> None:
    from llmpp.hardware.features import FEATURE_KINDS, encode_features
    from llmpp.testing.settings import measure_config

    archs = [small_space.smallest(), small_space.largest(2)]
    for kind in FEATURE_KINDS:
        rows = encode_features(archs, kind, space=small_space, vocab_size=1000,
                               measure=measure_config())
        assert rows.shape[0] == 2 and np.isfinite(rows).all(), kind
        if kind == "analytic":  # more decoder layers attending more: more work
            assert (rows[1] >= rows[0]).all()


@pytest.mark.slow
def test_describe_accepts_a_hat_small_architecture(small_space, tmp_path) -> None:
    from cli_runner import run_cli

    path = tmp_path / "arch.yaml"
    path.write_text(yaml.safe_dump(small_space.largest(2).to_hat()))
    done = run_cli(["describe", f"arch={path}", "task=synthetic_en_de", "space=hat_small"])
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["space"] == "hat_small" and payload["metrics"]["total_flops"] > 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**small_space.largest().to_hat(),
                                   "encoder-layer-num-subtransformer": 3}))
    refused = run_cli(["describe", f"arch={bad}", "task=synthetic_en_de", "space=hat_small"])
    assert refused.returncode == 2 and "not in space hat_small" in refused.stderr


def test_run_derives_every_step_on_hat_small(compose) -> None:
    from llmpp.pipeline.plan import step_config
    from llmpp.registry import steps

    cfg = compose("run", ["space=hat_small", "experiment=run_smoke"])
    for step in steps():
        derived = step_config(cfg, step, {})
        if "space" in derived:
            assert derived.space.name == "hat_small", step.name


@pytest.mark.slow
def test_every_training_stage_runs_on_hat_small(tmp_path) -> None:
    """supernet -> retrain (a gold set scored by that supernet) -> search -> latency."""
    from llmpp.config import compose
    from llmpp.stages.latency import run_latency
    from llmpp.stages.retrain import run_retrain
    from llmpp.stages.search import run_search
    from llmpp.stages.supernet import run_supernet

    run_supernet(compose("supernet", [*TINY, "logger=none", "trainer.max_steps=2",
                                      "trainer.val_check_interval=2", "eval_bleu_limit=2"]),
                 tmp_path / "supernet")
    ckpt = tmp_path / "supernet" / "checkpoints" / "last.ckpt"
    assert ckpt.is_file()
    gold = run_retrain(compose("retrain", [
        *TINY, "logger=none", "n_archs=4", "split.demos=2", "split.test=2",
        "trainer.max_steps=2", "trainer.val_check_interval=2", "eval_bleu_limit=2",
        f"supernet_checkpoint={ckpt}"]), tmp_path / "retrain")
    records = [json.loads(line) for f in (tmp_path / "retrain" / "gold").rglob("test.jsonl")
               for line in f.read_text().splitlines()]
    assert gold.gold_dir and all("Supernet" in r for r in records)
    search = run_search(compose("search", [
        "task=synthetic_en_de", "space=hat_small", "logger=none", "search.tracking.progress=false",
        "search=evolution", "search.iterations=2", "search.population_size=6",
        "search.parents=2", "search.mutations=2", "search.crossovers=2",
        f"search.supernet_checkpoint={ckpt}", "search.predictors.supernet.valid_limit=4",
        "constraint=gflops", "constraint.limit=0.1"]), tmp_path / "search")
    assert search["best"]["gflops"] <= 0.1 and len(search["iterations"]) == 2
    latency = run_latency(compose("latency", [
        "task=synthetic_en_de", "space=hat_small", "logger=none", "n_archs=4", "retest=0",
        "measure.repeats=1", "measure.warmup=0", "measure.beam=1", "measure.tgt_len=4",
        "fit.cv_folds=2", "fit.model=linear", "progress=false"]), tmp_path / "latency")
    assert latency["counts"]["measured_now"] == 4
