"""Run ``llmpp run``'s steps in order through the content-addressed store.

Each step's stage function and result type come from the registry
(``llmpp.registry``); its config from ``llmpp.pipeline.plan``. The contracts
between the steps are checked before the first one runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, open_dict

from llmpp.pipeline.plan import (
    check_contracts,
    content_config,
    lookup,
    step_config,
    uses_authors_gold,
)
from llmpp.pipeline.store import StageStore
from llmpp.registry import Step, stage, steps

log = logging.getLogger(__name__)


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


def skipped(cfg: DictConfig, step: Step, results: Mapping[str, Any]) -> str | None:
    """Why a step does not run in this pipeline (None: it runs)."""
    if step.needs_own_gold and uses_authors_gold(cfg):
        return "the task's demonstrations are the authors' architectures"
    if step.skip_unless and lookup(results, step.skip_unless) is None:
        return f"no {step.skip_unless} (the {step.skip_unless.split('.', 1)[0]} step found none)"
    return None


def run_steps(
    cfg: DictConfig, group: str, plan: Iterable[Step] | None = None
) -> tuple[dict[str, Mapping[str, Any]], dict[str, bool]]:
    """Run or reuse every step; returns (result by step, whether each was reused).

    Args:
        cfg: the run config (``conf/run.yaml`` composed).
        group: the W&B group of this run's steps.
        plan: the steps (default: the registry's).
    """
    plan = steps() if plan is None else tuple(plan)
    check_contracts(plan)
    store = StageStore(cfg.run.artifacts)
    results: dict[str, Mapping[str, Any]] = {}
    reused: dict[str, bool] = {}
    for step in plan:
        reason = skipped(cfg, step, results)
        if reason:
            log.info("step %s skipped: %s", step.name, reason)
            continue
        step_cfg = step_config(cfg, step, results)
        spec = stage(step.stage)
        runner = spec.runner()
        log.info("step %s (llmpp %s)", step.name, step.stage)

        def execute(_: DictConfig, step_dir: Path, step_cfg=step_cfg, step=step, runner=runner):
            return runner(with_run_logger(step_cfg, group, step), step_dir)

        results[step.name], reused[step.name] = store.ensure(
            step.name, content_config(step_cfg), execute, spec.result
        )
    return results, reused
