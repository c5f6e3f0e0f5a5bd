"""``llmpp run``: the whole pipeline for one task and hardware target.

supernet -> latency dataset and predictor -> demonstrations (the authors' 30
architectures for WMT tasks; a small gold set trained from scratch otherwise) ->
LLM-PP labels -> LLM-Distill-PP -> HS-NAS -> retrain the best architecture.
The steps, their order and what flows between them are ``llmpp.pipeline.plan``;
every step's output is keyed by the hash of its config (inputs included) under
``run.artifacts`` and reused when present, so a rerun is cheap and a killed run
continues where it stopped. Every step that logs is its own W&B run; the steps of
one run share a W&B group. Writes ``summary.json`` into the run dir.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf, open_dict

from llmpp.config import CONF_DIR, build
from llmpp.errors import ConfigError
from llmpp.pipeline.plan import (
    PIPELINE,
    Step,
    content_config,
    lookup,
    step_config,
    uses_authors_gold,
)
from llmpp.pipeline.store import StageStore
from llmpp.pipeline.summary import build_summary, summary_table
from llmpp.stages.common import guarded, run_dir
from llmpp.stages.distill import run_distill
from llmpp.stages.label import run_label
from llmpp.stages.latency import run_latency
from llmpp.stages.retrain import run_retrain
from llmpp.stages.search import run_search
from llmpp.stages.supernet import run_supernet
from llmpp.task import TaskSpec
from llmpp.utils.io import write_json

log = logging.getLogger(__name__)

# The stage functions the steps name (``Step.stage``).
STAGE_FUNCTIONS: dict[str, Callable[[DictConfig, Path], dict[str, Any]]] = {
    "supernet": run_supernet,
    "latency": run_latency,
    "retrain": run_retrain,
    "label": run_label,
    "distill": run_distill,
    "search": run_search,
}


def predicted_latency(cfg: DictConfig, artifact: str, arch: dict[str, Any]) -> float:
    """The hardware target's predicted latency (ms) of the found architecture."""
    space = build(cfg.space, "space")
    hardware = OmegaConf.merge(cfg.hardware, {"latency_predictor": artifact})
    predictor = build(hardware, "hardware").load_latency_predictor(
        space, TaskSpec.from_config(cfg.task)
    )
    return float(predictor.predict([space.from_hat(arch)])[0])


def preflight(cfg: DictConfig) -> None:
    """Catch what would fail late (a missing API key, a bad space) before any training."""
    build(cfg.space, "space")
    build(cfg.llm, "llm")  # backends check their keys at construction; nothing starts
    hardware = build(cfg.hardware, "hardware")
    if getattr(hardware, "measured", False):  # HAT's data must exist for this task and space
        hardware.check(build(cfg.space, "space"), TaskSpec.from_config(cfg.task))
    if not uses_authors_gold(cfg) and not cfg.gold.get("archs"):
        # The gold step must make a gold set for the label step: refuse before training.
        split, n_archs = cfg.gold.split, int(cfg.gold.get("n_archs") or 0)
        if n_archs < int(split.demos) + int(split.test):
            raise ConfigError(
                f"gold.n_archs={n_archs} is too few for a gold set of {split.demos} "
                f"demonstrations + {split.test} test records; raise gold.n_archs or lower "
                "gold.split.demos/gold.split.test"
            )


def with_run_logger(cfg: DictConfig, group: str, step: Step) -> DictConfig:
    """The step's config with its W&B run named and grouped under the pipeline run."""
    logger = cfg.get("logger")
    if logger is None or "wandb" not in str(logger.get("_target_", "")).lower():
        return cfg
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.logger.group = cfg.logger.get("group") or group
        cfg.logger.job_type = step.name
        cfg.logger.name = cfg.logger.get("name") or f"{step.name}-{group}"
    return cfg


def skipped(cfg: DictConfig, step: Step, results: dict[str, Any]) -> str | None:
    """Why a step does not run in this pipeline (None: it runs)."""
    if step.needs_own_gold and uses_authors_gold(cfg):
        return "the task's demonstrations are the authors' architectures"
    if step.name == "retrain" and not lookup(results, "search.best.arch"):
        return "the search found no architecture"
    return None


def run_pipeline(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    """Run or reuse every step; returns the ``summary.json`` payload."""
    preflight(cfg)
    store = StageStore(cfg.run.artifacts)
    group = f"run-{Path(out_dir).name}"
    results: dict[str, dict[str, Any]] = {}
    reused: dict[str, bool] = {}
    for step in PIPELINE:
        reason = skipped(cfg, step, results)
        if reason:
            log.info("step %s skipped: %s", step.name, reason)
            continue
        step_cfg = step_config(cfg, step, results)
        runner = STAGE_FUNCTIONS[step.stage]
        log.info("step %s (llmpp %s)", step.name, step.stage)

        def execute(_: DictConfig, step_dir: Path, step_cfg=step_cfg, step=step, runner=runner):
            return runner(with_run_logger(step_cfg, group, step), step_dir)

        results[step.name], reused[step.name] = store.ensure(
            step.name, content_config(step_cfg), execute
        )
    summary = build_summary(results, reused)
    best = results.get("search", {}).get("best") or {}
    if best.get("arch") and summary["best"].get("latency_ms") is None:
        # The search only predicts latency under a latency constraint; report it anyway.
        summary["best"]["latency_ms"] = predicted_latency(
            cfg, results["latency"]["artifact"], best["arch"]
        )
    write_json(out_dir / "summary.json", summary)
    return summary


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="run")
@guarded
def main(cfg: DictConfig) -> None:
    out_dir = run_dir()
    summary = run_pipeline(cfg, out_dir)
    print(summary_table(summary))
    for warning in summary.get("warnings", []):
        log.warning(warning)
    print(f"\nwrote {out_dir / 'summary.json'}")


if __name__ == "__main__":  # `python -m llmpp.stages.<stage>`; DDP re-launches this way
    main()
