"""``llmpp run``: the whole pipeline for one task and hardware target.

supernet -> latency dataset and predictor -> demonstrations (the authors' 30
architectures for WMT tasks; a small gold set trained from scratch otherwise) ->
LLM-PP labels -> LLM-Distill-PP -> HS-NAS -> retrain the best architecture.
Every step's output is keyed by the hash of its config (inputs included) under
``run.artifacts`` and reused when present, so a rerun is cheap and a killed run
continues where it stopped. Writes ``summary.json`` into the run dir.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from llmpp.hardware.target import latency_from_config
from llmpp.pipeline.steps import step_config, uses_authors_gold
from llmpp.pipeline.store import StageStore
from llmpp.pipeline.summary import build_summary, summary_table
from llmpp.stages.common import CONF_DIR, build, guarded, run_dir
from llmpp.task import TaskSpec
from llmpp.utils.io import write_json

log = logging.getLogger(__name__)


def _runner(stage: str):
    """The plain ``run_<stage>`` function, imported only when the step runs."""
    module = __import__(f"llmpp.stages.{stage}", fromlist=[f"run_{stage}"])
    return getattr(module, f"run_{stage}")


def predicted_latency(cfg: DictConfig, artifact: str, arch: dict[str, Any]) -> float:
    """The hardware target's predicted latency (ms) of the found architecture."""
    space = build(cfg.space, "space")
    step_cfg = OmegaConf.merge(cfg, {"hardware": {"latency_predictor": artifact}})
    predictor = latency_from_config(step_cfg, space, TaskSpec.from_config(cfg.task))
    return float(predictor.predict([space.from_hat(arch)])[0])


def preflight(cfg: DictConfig) -> None:
    """Catch what would fail late (a missing API key, a bad space) before any training."""
    build(cfg.space, "space")
    build(cfg.llm, "llm")  # backends check their keys at construction; nothing starts
    build(cfg.hardware, "hardware")


def run_pipeline(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    """Run or reuse every step; returns the ``summary.json`` payload."""
    preflight(cfg)
    store = StageStore(cfg.run.artifacts)
    results: dict[str, dict[str, Any]] = {}
    reused: dict[str, bool] = {}

    def step(name: str, stage: str, **inputs: Any) -> dict[str, Any]:
        step_cfg = step_config(cfg, stage, overrides_key=name, **inputs)
        log.info("step %s (llmpp %s)", name, stage)
        results[name], reused[name] = store.ensure(name, step_cfg, _runner(stage))
        return results[name]

    supernet = step("supernet", "supernet")
    latency = step("latency", "latency")
    gold_dir = None
    if not uses_authors_gold(cfg):
        gold_dir = step("gold", "retrain", retrain__supernet_checkpoint=supernet["checkpoint"])[
            "gold_dir"
        ]
    labels = step("label", "label", benchmark__gold=gold_dir)
    distill = step("distill", "distill", labels=labels["labels"])
    search = step(
        "search",
        "search",
        supernet_checkpoint=supernet["checkpoint"],
        distill_checkpoint=distill["checkpoint"],
        hardware__latency_predictor=latency["artifact"],
        constraint=cfg.get("constraint"),
    )
    best = search.get("best") or {}
    if best.get("arch"):
        step("retrain", "retrain", arch=best["arch"])
    summary = build_summary(results, reused)
    if best.get("arch") and summary["best"].get("latency_ms") is None:
        # The search only predicts latency under a latency constraint; report it anyway.
        summary["best"]["latency_ms"] = predicted_latency(cfg, latency["artifact"], best["arch"])
    write_json(out_dir / "summary.json", summary)
    return summary


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="run")
@guarded
def main(cfg: DictConfig) -> None:
    out_dir = run_dir()
    summary = run_pipeline(cfg, out_dir)
    print(summary_table(summary))
    print(f"\nwrote {out_dir / 'summary.json'}")


if __name__ == "__main__":  # `python -m llmpp.stages.<stage>`; DDP re-launches this way
    main()
