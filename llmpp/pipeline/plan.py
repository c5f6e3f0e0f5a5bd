"""The steps of ``llmpp run`` as data: their order, configs and what flows between them.

A step runs one stage on the step's config: the run's shared choices that the stage
uses, the step's own block of the run config (``conf/steps/<stage>.yaml`` under the
step's name, e.g. ``supernet:``, ``gold:``), and the outputs of earlier steps it
reads. Nothing here re-parses override strings: the run config already holds every
step's complete settings, so the command line reaches any step key directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from llmpp.errors import ConfigError

# Keys that identify a step's run rather than its result: kept out of the content hash.
RUN_ONLY = ("logger",)


@dataclass(frozen=True)
class Step:
    """One step of the pipeline.

    Args:
        name: the step's name: its block in the run config and its artifact folder.
        stage: the stage that runs it (``llmpp <stage>``).
        shared: root keys of the run config the step's stage reads.
        inputs: step-config key -> ``<earlier step>.<result key>`` (dotted).
        block: the run-config block holding the step's own settings (None: none).
        needs_own_gold: run only for tasks without the authors' gold data.
    """

    name: str
    stage: str
    shared: tuple[str, ...]
    inputs: Mapping[str, str] = field(default_factory=dict)
    block: str | None = None
    needs_own_gold: bool = False


BASE = ("task", "space", "seed", "logger")
TRAINING = (*BASE, "model", "data")

PIPELINE: tuple[Step, ...] = (
    Step("supernet", "supernet", TRAINING, block="supernet"),
    Step("latency", "latency", (*BASE, "hardware"), block="latency"),
    Step("gold", "retrain", TRAINING, block="gold", needs_own_gold=True,
         inputs={"supernet_checkpoint": "supernet.checkpoint"}),
    Step("label", "label", (*BASE, "benchmark", "llm", "prompt"), block="label",
         inputs={"benchmark.gold": "gold.gold_dir"}),
    Step("distill", "distill", (*BASE, "benchmark"), block="distill",
         inputs={"labels": "label.labels"}),
    Step("search", "search",
         (*BASE, "search", "constraint", "hardware", "predictors", "tracking", "init", "llm",
          "benchmark"),
         inputs={"supernet_checkpoint": "supernet.checkpoint",
                 "distill_checkpoint": "distill.checkpoint",
                 "hardware.latency_predictor": "latency.artifact"}),
    Step("retrain", "retrain", TRAINING, block="retrain", inputs={"arch": "search.best.arch"}),
)


def uses_authors_gold(run_cfg: DictConfig) -> bool:
    """WMT tasks take their demonstrations from the authors' 30 architectures."""
    return bool(run_cfg.task.get("gold_name"))


def lookup(results: Mapping[str, Mapping[str, Any]], dotted: str) -> Any:
    """``<step>.<key>[.<key>...]`` in the finished steps' results; None when absent."""
    value: Any = results
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def step_config(run_cfg: DictConfig, step: Step, results: Mapping[str, Any]) -> DictConfig:
    """The config the step's stage runs on (inputs from ``results`` of earlier steps)."""
    own = run_cfg.get(step.block) if step.block else None
    if step.block and own is None:
        raise ConfigError(f"the run config has no {step.block}: block; restore conf/run.yaml")
    # Copied unresolved: interpolations (``${seed}``, ``${..trainer.max_steps}``) are
    # resolved against the step's own config, where the same keys sit at the same places.
    raw: dict[str, Any] = {}
    if own is not None:
        raw.update(OmegaConf.to_container(own, resolve=False))
    whole = OmegaConf.to_container(run_cfg, resolve=False)
    raw.update({key: whole[key] for key in step.shared if key in whole})
    raw["resume"] = None
    cfg = OmegaConf.create(raw)
    with open_dict(cfg):
        for dotted, source in step.inputs.items():
            value = lookup(results, source)
            if value is not None:
                OmegaConf.update(cfg, dotted, value, force_add=True)
    return cfg


def content_config(cfg: DictConfig) -> DictConfig:
    """What a step's output depends on: its config without run-only keys (the logger)."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    return OmegaConf.create({k: v for k, v in plain.items() if k not in RUN_ONLY})
