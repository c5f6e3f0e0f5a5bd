"""``llmpp label``: LLM-PP predictions for an architecture pool (distillation data).

The pools are some of the authors' 500-architecture pools (``pool_seeds``) or N
architectures sampled from the space; the demonstrations are the 10 training
architectures of each of ``demo_seeds``. Labels are appended to ``labels.jsonl``
chunk by chunk (one JSON object a line), pool after pool, so a killed run keeps what
it finished; ``resume=<run dir>`` (or rerunning in the same run dir; the policy is
``llmpp.stages.resume``) skips labelled architectures, and the reply cache makes any
rerun free of repeated calls.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig

from llmpp.config import CONF_DIR, build
from llmpp.errors import ConfigError
from llmpp.gold.records import load_pool
from llmpp.gold.source import GoldData
from llmpp.labels.demonstrations import seed_demonstrations
from llmpp.labels.format import LABELS, append_rows, read_rows
from llmpp.metrics.ranking import constant_scores, constant_warning
from llmpp.predictors.base import TaskContext
from llmpp.predictors.llm_pp import Label, LLMPPPredictor
from llmpp.results import LabelResult
from llmpp.space.architecture import Architecture
from llmpp.stages.common import guarded, run_dir
from llmpp.stages.resume import continue_run
from llmpp.task import TaskSpec, expand_tasks
from llmpp.tracking.stage_logging import log_stage
from llmpp.utils.io import write_json

log = logging.getLogger(__name__)


def pools(cfg: DictConfig) -> list[tuple[int, int | None]]:
    """(demo seed, pool seed) of every pool to label; pool seed None = a sampled pool."""
    if cfg.pool not in ("authors", "sample"):
        raise ConfigError(f"pool={cfg.pool!r}; choose authors or sample")
    demo_seeds = [int(s) for s in cfg.demo_seeds]
    if cfg.pool == "sample":
        return [(seed, None) for seed in demo_seeds]
    return [(seed, int(pool)) for seed in demo_seeds for pool in cfg.pool_seeds]


def label_pool(
    cfg: DictConfig, task: TaskSpec, space: Any, gold: GoldData, pool_seed: int | None, seed: int
) -> list[Architecture]:
    """The architectures of one pool, in a stable order, without duplicates."""
    if pool_seed is not None:
        archs = load_pool(task.gold_name or task.name, seed, pool_seed, source=gold.source())
    else:
        archs = space.sample(np.random.default_rng(int(cfg.sample_seed)), int(cfg.n_archs))
    unique = list({arch.key(): arch for arch in archs}.values())
    return unique[: int(cfg.limit)] if cfg.get("limit") else unique


def _row(
    label: Label, predictor: LLMPPPredictor, task: TaskSpec, seed: int, pool_seed: int | None
) -> dict[str, Any]:
    return {
        "arch": label.arch.to_hat(),
        "arch_key": label.arch.key(),
        "prediction": label.prediction,
        "std": label.std,
        "samples": label.samples,
        "failure": label.failure,
        "backend": predictor.backend.kind,
        "model": predictor.backend.model,
        "prompt": predictor.prompt.name,
        "task": task.name,
        "seed": seed,
        "pool_seed": pool_seed,
    }


def _chunks(items: list[Architecture], size: int) -> Iterator[list[Architecture]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def done_key(task: str, seed: Any, pool_seed: Any, arch_key: str) -> tuple[str, str, str, str]:
    return (str(task), str(seed), str(pool_seed), str(arch_key))


def label_task(
    cfg: DictConfig,
    task: TaskSpec,
    space: Any,
    gold: GoldData,
    path: Path,
    done: set[tuple[str, str, str, str]],
    seed: int,
    pool_seed: int | None,
) -> dict[str, Any]:
    """Label one pool of one task into ``path``; returns its cost and counts."""
    demos = seed_demonstrations(
        task.gold_name or task.name, seed, source=gold.release_source(),
        gold_dir=gold.gold, gold_field=gold.gold_field,
    )
    todo = [a for a in label_pool(cfg, task, space, gold, pool_seed, seed)
            if done_key(task.name, seed, pool_seed, a.key()) not in done]
    predictor = build(cfg.predictor, "predictor")
    if not isinstance(predictor, LLMPPPredictor):
        raise ConfigError("llmpp label needs predictor=llm_pp")
    from llmpp.utils.progress import progress_bar

    bar = progress_bar(
        total=len(todo) * predictor.n_samples, desc=f"label {task.name}", unit="req", disable=None
    )
    failures = 0
    try:
        predictor.setup(TaskContext(task=task, space=space, seed=seed, run_dir=str(path.parent)))
        predictor.fit(demos)
        for chunk in _chunks(todo, max(1, int(cfg.chunk))):
            labels = predictor.label(chunk, progress=bar)
            failures += sum(label.prediction is None for label in labels)
            append_rows(path, [_row(label, predictor, task, seed, pool_seed)
                               for label in labels])
        return {"labelled": len(todo), "failed": failures, "cost": predictor.cost()}
    finally:
        bar.close()
        predictor.close()


def _merge(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """Counts and costs of several pools added up."""
    if not total:
        return part
    out = {k: total[k] + part[k] for k in ("labelled", "failed")}
    out["cost"] = {k: total["cost"].get(k, 0) + v for k, v in part["cost"].items()}
    out["pools"] = total.get("pools", 1) + 1
    return out


def run_label(cfg: DictConfig, out_dir: Path) -> LabelResult:
    """Label every pool of every task of ``cfg.task``; returns the summary in label.json."""
    started = time.perf_counter()
    cfg, out_dir = continue_run(cfg, out_dir, "label")
    gold: GoldData = build(cfg.benchmark, "benchmark")
    space = build(cfg.space, "space")
    targets = pools(cfg)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LABELS
    # A row whose prediction failed is asked again (the reply cache keeps what was paid for).
    done = {done_key(r["task"], r.get("seed"), r.get("pool_seed"), r["arch_key"])
            for r in read_rows(path) if r["prediction"] is not None}
    tasks: dict[str, Any] = {}
    for task_cfg in expand_tasks(cfg.task):
        task = TaskSpec.from_config(task_cfg)
        if any(p is not None for _, p in targets) and not task.gold_name:
            raise ConfigError(f"task {task.name} has no authors' pools; pass pool=sample")
        for seed, pool_seed in targets:
            log.info("labelling %s: demonstrations of seed %s, pool %s", task.name, seed,
                     pool_seed if pool_seed is not None else "sampled")
            part = label_task(cfg, task, space, gold, path, done, seed, pool_seed)
            tasks[task.name] = _merge(tasks.get(task.name, {}), part)
    rows = read_rows(path)
    predictions = [r["prediction"] for r in rows if r["prediction"] is not None]
    constant = len(predictions) > 1 and constant_scores(predictions)
    if constant:
        log.warning(constant_warning("label: the teacher's labels", len(predictions)))
    summary = {
        "labels": str(path),
        "rows": len(rows),
        "constant_labels": bool(constant),
        "tasks": tasks,
        "wall_seconds": time.perf_counter() - started,
    }
    write_json(out_dir / "label.json", summary)
    _log_run(cfg, out_dir, summary)
    return LabelResult.from_json(summary)


def _log_run(cfg: DictConfig, out_dir: Path, summary: dict[str, Any]) -> None:
    """Per task: labelled, failed, LLM calls, cache hits, tokens, USD; label.json and labels."""
    totals: dict[str, float] = {}
    for info in summary["tasks"].values():
        for key, value in {**info["cost"], "labelled": info["labelled"],
                           "failed": info["failed"]}.items():
            if isinstance(value, int | float):
                totals[key] = totals.get(key, 0) + value
    log_stage(
        cfg.get("logger"), out_dir, stage="label", task=str(cfg.task.name), config=cfg,
        metrics={**summary["tasks"], "total": totals, "rows": summary["rows"],
                 "wall_seconds": summary["wall_seconds"]},
        files=[out_dir / "label.json", Path(summary["labels"])],
    )


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="label")
@guarded
def main(cfg: DictConfig) -> None:
    out_dir = run_dir()
    summary = run_label(cfg, out_dir)
    for name, info in summary["tasks"].items():
        cost = info["cost"]
        print(
            f"{name}: labelled {info['labelled']} ({info['failed']} failed); calls "
            f"{cost.get('llm_calls', 0)}, cache hits {cost.get('cache_hits', 0)}, "
            f"USD {cost.get('usd', 0.0):.4f}"
        )
    print(f"wrote {summary['labels']} ({summary['rows']} rows)")


if __name__ == "__main__":  # `python -m llmpp.stages.<stage>`; DDP re-launches this way
    main()
