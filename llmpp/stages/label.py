"""``llmpp label``: LLM-PP predictions for an architecture pool (distillation data).

The pool is one of the authors' 500-architecture pools or N architectures sampled
from the space; the demonstrations are the 10 training architectures of a seed.
Labels are appended to ``labels.jsonl`` chunk by chunk (one JSON object a line), so
a killed run keeps what it finished; rerunning in the same run dir skips labelled
architectures, and the reply cache makes any rerun free of repeated calls.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig

from llmpp.errors import ConfigError
from llmpp.gold.records import load_gold_split, load_pool
from llmpp.gold.source import GoldSource
from llmpp.predictors.base import Demonstration, TaskContext
from llmpp.predictors.llm_pp import Label, LLMPPPredictor
from llmpp.space.architecture import Architecture
from llmpp.stages.common import CONF_DIR, build, guarded, run_dir
from llmpp.task import TaskSpec, expand_tasks
from llmpp.utils.io import atomic_open, write_json

log = logging.getLogger(__name__)
LABELS = "labels.jsonl"


def read_labels(path: Path) -> list[dict[str, Any]]:
    """Complete label rows of ``path``; a torn last line (killed mid-write) is dropped."""
    if not path.is_file():
        return []
    rows, torn = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            torn = True
    if torn:  # rewrite without the torn line so appends stay line-aligned
        with atomic_open(path) as handle:
            handle.writelines(json.dumps(row) + "\n" for row in rows)
    return rows


def append_labels(path: Path, rows: list[dict[str, Any]]) -> None:
    """Append rows and make them durable before returning."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(row) + "\n" for row in rows))
        handle.flush()
        os.fsync(handle.fileno())


def label_pool(
    cfg: DictConfig, task: TaskSpec, space: Any, source: GoldSource
) -> list[Architecture]:
    """The architectures to label, in a stable order, without duplicates."""
    spec = cfg.label
    gold_task = task.gold_name or task.name
    if spec.pool == "authors":
        archs = load_pool(gold_task, int(spec.seed), int(spec.dest_seed), source=source)
    elif spec.pool == "sample":
        archs = space.sample(np.random.default_rng(int(spec.sample_seed)), int(spec.n))
    else:
        raise ConfigError(f"label.pool={spec.pool!r}; choose authors or sample")
    unique = list({arch.key(): arch for arch in archs}.values())
    return unique[: int(spec.limit)] if spec.get("limit") else unique


def _row(label: Label, predictor: LLMPPPredictor, task: TaskSpec, seed: int) -> dict[str, Any]:
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
    }


def _chunks(items: list[Architecture], size: int) -> Iterator[list[Architecture]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def label_task(
    cfg: DictConfig,
    task: TaskSpec,
    space: Any,
    source: GoldSource,
    path: Path,
    done: set[tuple[str, str]],
) -> dict[str, Any]:
    """Label one task's pool into ``path``; returns its cost and counts."""
    seed = int(cfg.label.seed)
    gold_dir = (cfg.get("benchmark") or {}).get("gold")  # a gold set from `llmpp retrain`
    demos = load_gold_split(
        task.gold_name or task.name, seed, "train", source=None if gold_dir else source,
        gold_dir=gold_dir,
    )
    todo = [a for a in label_pool(cfg, task, space, source) if (task.name, a.key()) not in done]
    predictor = build(cfg.predictor, "predictor")
    if not isinstance(predictor, LLMPPPredictor):
        raise ConfigError("llmpp label needs predictor=llm_pp")
    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(todo) * predictor.n_samples, desc=f"label {task.name}", unit="req", disable=None
    )
    failures = 0
    try:
        predictor.setup(TaskContext(task=task, space=space, seed=seed, run_dir=str(path.parent)))
        predictor.fit([Demonstration(r.arch, r.score(str(cfg.label.gold_field))) for r in demos])
        for chunk in _chunks(todo, max(1, int(cfg.label.chunk))):
            labels = predictor.label(chunk, progress=bar)
            failures += sum(label.prediction is None for label in labels)
            append_labels(path, [_row(label, predictor, task, seed) for label in labels])
        return {"labelled": len(todo), "failed": failures, "cost": predictor.cost()}
    finally:
        bar.close()
        predictor.close()


def run_label(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    """Label the pool of every task of ``cfg.task``; returns the summary written to label.json."""
    started = time.perf_counter()
    bench = cfg.get("benchmark") or {}
    source = (
        GoldSource(bench.get("root"), mirror=bench.get("mirror"))
        if bench.get("mirror")
        else GoldSource(bench.get("root"))
    )
    space = build(cfg.space, "space")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LABELS
    done = {(row["task"], row["arch_key"]) for row in read_labels(path)}
    tasks: dict[str, Any] = {}
    for task_cfg in expand_tasks(cfg.task):
        task = TaskSpec.from_config(task_cfg)
        tasks[task.name] = label_task(cfg, task, space, source, path, done)
    summary = {
        "labels": str(path),
        "rows": len(read_labels(path)),
        "tasks": tasks,
        "wall_seconds": time.perf_counter() - started,
    }
    write_json(out_dir / "label.json", summary)
    return summary


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
