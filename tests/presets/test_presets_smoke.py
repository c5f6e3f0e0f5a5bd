"""Every preset composes with its stage and runs in a smoke mode (tiny budgets).

Benchmark presets run the whole protocol (LLM rows against the loopback fake
OpenAI-compatible server instead of GPT-4 / the local model; Distill-PP with a
checkpoint distilled here from a free teacher). Latency presets measure a handful of
architectures. ``run`` presets for WMT cannot train offline (no corpora, no GPU), so
their step configs are derived and their parts built: space, task, search algorithm
(at a tiny size), constraint and hardware target.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf, open_dict

from llmpp.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
PRESETS = sorted((ROOT / "conf" / "experiment").glob("*.yaml"))
pytestmark = pytest.mark.slow

LATENCY_SMOKE = [
    "n_archs=4", "retest=0", "measure.repeats=1",
    "measure.warmup=0", "measure.beam=1", "measure.tgt_len=4",
    "fit.cv_folds=2", "fit.model=linear", "progress=false",
]


def preset_stage(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("# stage:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path.name} has no '# stage:' line")


# Presets written before the header rule that still lack a line (owned by others):
# shrink this set as they are completed; the test fails if it is stale either way.
def test_every_preset_header_is_complete() -> None:
    gaps = {}
    for path in PRESETS:
        text = path.read_text()
        assert text.startswith("# @package _global_"), path.name
        keys = ("# stage:", "# Reproduces:", "# Expected", "# Hardware:", "# Run:", "Cost")
        missing = {key for key in keys if key not in text}
        if missing:
            gaps[path.stem] = missing
    assert gaps == {}, f"presets missing header lines: {gaps}"


def _benchmark(cfg, out: Path, gold_root: Path) -> dict:
    from llmpp.stages.benchmark import run_benchmark

    OmegaConf.update(cfg, "benchmark.root", str(gold_root))
    OmegaConf.update(cfg, "plots", False)
    return run_benchmark(cfg, out)


def _distill_tree(tmp: Path, gold_root: Path) -> str:
    """One Distill-PP checkpoint for wmt14_en_de seed 123, from a linear teacher."""
    from llmpp.config import compose
    from llmpp.stages.distill import run_distill

    cfg = compose("distill", [
        "task=wmt14_en_de", "predictor@teacher.predictor=linear", "teacher.pool=sample",
        "teacher.n_archs=60", "teacher.demo_seeds=[123]", f"benchmark.root={gold_root}",
        "regressor.max_epochs=2", "regressor.progress_bar=false",
    ])
    run_distill(cfg, tmp / "wmt14_en_de" / "123")
    return str(tmp / "{task}" / "{seed}" / "distill.ckpt")


def smoke_benchmark(name: str, cfg, tmp: Path, gold_root: Path, monkeypatch) -> None:
    from llmpp.testing.fake_llm_server import FakeLLMServer

    predictor = str(cfg.predictor._target_)
    if "LLMPPPredictor" in predictor:
        assert cfg.predictor.protocol == "single"
        assert cfg.llm.model == ("gpt-4" if "gpt4" in name else cfg.llm.model)
        with FakeLLMServer() as server:
            monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
            llm = {"_target_": "llmpp.llm.backends.OpenAICompatibleBackend",
                   "model": "fake", "base_url": server.base_url, "prices": dict(cfg.llm.prices)}
            # The preset's backend is replaced whole (keys differ); prompt and protocol stay.
            cfg.llm = OmegaConf.create(llm)
            cfg.benchmark.seeds = [123]
            cfg.task = _one_task(cfg)
            payload = _benchmark(cfg, tmp, gold_root)
            assert server.total_requests >= 20
        assert payload["cost"]["llm_calls"] >= 20
        return
    if "LLMDistillPredictor" in predictor:
        cfg.predictor.checkpoint = _distill_tree(tmp / "distill", gold_root)
        cfg.task, cfg.benchmark.seeds = _one_task(cfg), [123]
    payload = _benchmark(cfg, tmp / "bench", gold_root)
    for task in payload["tasks"].values():
        assert 0 <= task["mae"]["mean"] < 10


def _one_task(cfg):
    from llmpp.config import compose

    return compose("benchmark", ["task=wmt14_en_de"]).task


def smoke_latency(cfg, tmp: Path) -> None:
    from llmpp.stages.latency import run_latency

    cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(LATENCY_SMOKE))
    payload = run_latency(cfg, tmp)
    assert payload["counts"]["measured_now"] == 4


def smoke_search(cfg, tmp: Path) -> None:
    """The preset's search with cheap stand-ins for the checkpoints' predictors."""
    from llmpp.stages.search import run_search

    with open_dict(cfg):
        for name in ("supernet", "llm_distill"):
            cfg.search.predictors[name] = {"_target_": "llmpp.testing.toy.ToyPredictor", "seed": 1}
        cfg.search.iterations, cfg.search.population_size = 2, 8
        cfg.logger = {"_target_": None}
        cfg.search.tracking.progress = False
    payload = run_search(cfg, tmp)
    assert len(payload["iterations"]) == 2


def smoke_distill(cfg, tmp: Path, gold_root: Path) -> None:
    """The preset's regressor on a few labels from a free teacher (no LLM, no supernet)."""
    from llmpp.stages.distill import run_distill

    tiny = OmegaConf.from_dotlist([
        "teacher.pool=sample", "teacher.n_archs=40", "teacher.demo_seeds=[123]",
        f"benchmark.root={gold_root}", "regressor.progress_bar=false",
    ])
    cfg = OmegaConf.merge(cfg, tiny)
    with open_dict(cfg):
        cfg.teacher.predictor = {"_target_": "llmpp.predictors.linear.LinearPredictor"}
        cfg.logger = {"_target_": None}
    if cfg.regressor.get("steps"):
        cfg.regressor.steps = 20
    else:
        cfg.regressor.max_epochs = 2
    report = run_distill(cfg, tmp)
    assert report["labels"]["used"] == 40


def smoke_run(name: str, cfg) -> None:
    """Validate a run preset's steps and build its parts at a tiny size."""
    from llmpp.config import build
    from llmpp.pipeline.plan import step_config, uses_authors_gold
    from llmpp.registry import steps as registered_steps
    from llmpp.stages.searching import algorithm_config
    from llmpp.task import TaskSpec
    from llmpp.testing.settings import measure_config

    if name == "run_smoke":
        return  # runs end to end in tests/pipeline
    steps = {step.name: step for step in registered_steps()}
    assert uses_authors_gold(cfg), "paper presets use the authors' demonstrations"
    search = step_config(cfg, steps["search"], {})
    assert (search.search.population_size, search.search.parents) == (125, 25)
    assert (search.search.mutations, search.search.crossovers) == (50, 50)
    assert (search.search.iterations, search.search.schedule.switch_at) == (30, 15)
    assert step_config(cfg, steps["supernet"], {}).optim.warmup_steps == 10000
    assert step_config(cfg, steps["latency"], {}).n_archs == 2000
    for step in ("label", "distill", "retrain"):
        assert step_config(cfg, steps[step], {}).task.name == cfg.task.name
    space = build(cfg.space, "space")
    task = TaskSpec.from_config(cfg.task)
    small = {"population_size": 6, "parents": 2, "mutations": 2, "crossovers": 2,
             "iterations": 2, "schedule": {"switch_at": 1}}
    tiny = OmegaConf.merge(algorithm_config(search.search), small)
    assert build(tiny, "search", space=space) is not None
    limit = build(cfg.constraint, "constraint")(latency=lambda arch: 1.0)
    if name.endswith("ms"):
        assert limit.limit == float(name.split("_")[-1].removesuffix("ms"))
    # The paper's constraint: HAT's released TITAN Xp predictor for the task.
    target = build(cfg.hardware, "hardware")
    assert (target.name, target.model) == ("titanxp", "released")
    latency = target.load_latency_predictor(space, task)
    assert latency.payload["training"]["dataset"] == f"{task.gold_name}_gpu_titanxp"
    with pytest.raises(ConfigError, match="nothing to time"):
        target.meter(vocab_size=task.vocab_size, qkv_dim=space.qkv_dim, config=measure_config())


def smoke_supernet(cfg) -> None:
    """Build a supernet preset's model on the tiny space and its update-counted cadence."""
    from hydra.utils import instantiate

    from llmpp.config import build
    from llmpp.training.runner import build_module, validation_in_updates

    space = instantiate(OmegaConf.load(Path(__file__).resolve().parents[2] / "conf" / "space"
                                       / "hat_mini.yaml"))
    task = OmegaConf.merge(cfg.task, {"vocab_size": 64})
    module = build_module(cfg.model, space=space, task=task, optim=build(cfg.optim, "optim"),
                          seed=0)
    assert module.is_supernet and module.step_archs(0)
    trainer = validation_in_updates(cfg.trainer, cfg.val_check_interval_updates)
    assert trainer.val_check_interval % int(trainer.accumulate_grad_batches) == 0


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_runs_in_smoke_mode(path, tmp_path, gold_root, compose, monkeypatch) -> None:
    stage = preset_stage(path)
    cfg = compose(stage, [f"experiment={path.stem}", "seed=0"])
    if stage == "benchmark":
        smoke_benchmark(path.stem, cfg, tmp_path, gold_root, monkeypatch)
    elif stage == "latency":
        smoke_latency(cfg, tmp_path)
    elif stage == "run":
        smoke_run(path.stem, cfg)
    elif stage == "distill":
        smoke_distill(cfg, tmp_path, gold_root)
    elif stage == "search":
        smoke_search(cfg, tmp_path)
    elif stage == "supernet":
        smoke_supernet(cfg)
    else:
        raise AssertionError(f"no smoke mode for stage {stage!r}: add one here")
