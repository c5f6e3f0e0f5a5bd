"""``llmpp run``: the whole pipeline for one task and hardware target.

supernet -> latency dataset and predictor -> demonstrations (the authors' 30
architectures for WMT tasks; a small gold set trained from scratch otherwise) ->
LLM-PP labels -> LLM-Distill-PP -> HS-NAS -> retrain the best architecture.
The steps, their order and what flows between them are declared in
``llmpp.registry`` (run by ``llmpp.pipeline.execute``);
every step's output is keyed by the hash of its config (inputs included) under
``run.artifacts`` and reused when present, so a rerun is cheap and a killed run
continues where it stopped. Every step that logs is its own W&B run; the steps of
one run share a W&B group. Writes ``summary.json`` into the run dir.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from llmpp.config import CONF_DIR, build
from llmpp.errors import ConfigError
from llmpp.pipeline.execute import run_steps
from llmpp.pipeline.plan import uses_authors_gold
from llmpp.pipeline.summary import build_summary, summary_table
from llmpp.results import RunResult
from llmpp.stages.common import guarded, run_dir
from llmpp.task import TaskSpec
from llmpp.utils.io import write_json

log = logging.getLogger(__name__)


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


def run_pipeline(cfg: DictConfig, out_dir: Path) -> RunResult:
    """Run or reuse every step; returns the ``summary.json`` payload."""
    preflight(cfg)
    results, reused = run_steps(cfg, group=f"run-{Path(out_dir).name}")
    summary = build_summary(results, reused)
    best = results["search"].get("best") or {}
    if best.get("arch") and summary["best"].get("latency_ms") is None:
        # The search only predicts latency under a latency constraint; report it anyway.
        summary["best"]["latency_ms"] = predicted_latency(
            cfg, results["latency"]["artifact"], best["arch"]
        )
    write_json(out_dir / "summary.json", summary)
    return RunResult.from_json(summary)


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
