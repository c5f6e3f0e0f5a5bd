"""The paper's predictor benchmark: per seed, 10 demonstrations and 20 test records.

For each task and seed the predictor is built fresh, set up for the task, fitted on
the seed's ``train`` records and asked to score the ``test`` records; metrics are
then averaged over seeds with the population standard deviation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmpp.errors import PredictionsFailedError
from llmpp.gold.records import SEEDS, load_gold_split
from llmpp.gold.source import GoldSource
from llmpp.labels.demonstrations import as_demonstrations
from llmpp.metrics.agreement import METRICS, summarize
from llmpp.predictors.base import Predictor, TaskContext
from llmpp.space.search_space import SearchSpace
from llmpp.task import TaskSpec

log = logging.getLogger(__name__)


@dataclass
class ProtocolConfig:
    """Which seeds, which gold field, where the gold data lives."""

    seeds: Sequence[int] = SEEDS
    gold_field: str = "valid_BLEU"
    gold_dir: str | None = None  # a gold set in the authors' layout; None = their release


def evaluate_task(
    make_predictor: Callable[[], Predictor],
    task: TaskSpec,
    protocol: ProtocolConfig,
    *,
    source: GoldSource | None,
    space: SearchSpace | None = None,
    run_dir: str | None = None,
) -> tuple[dict[str, Any], dict[str, float], str]:
    """Run every seed of one task; returns (task result, cost, predictor name)."""
    gold_task = task.gold_name or task.name
    per_seed: dict[str, Any] = {}
    cost: dict[str, float] = {}
    name = "predictor"
    for seed in protocol.seeds:
        demos = load_gold_split(gold_task, seed, "train", source=source, gold_dir=protocol.gold_dir)
        tests = load_gold_split(gold_task, seed, "test", source=source, gold_dir=protocol.gold_dir)
        predictor = make_predictor()
        name = predictor.name
        try:
            predictor.setup(
                TaskContext(
                    task=task, space=space, records=[*demos, *tests], seed=seed, run_dir=run_dir
                )
            )
            predictor.fit(as_demonstrations(demos, protocol.gold_field))
            pred = np.asarray(predictor.predict([r.arch for r in tests]), dtype=float)
            for key, value in predictor.cost().items():
                cost[key] = cost.get(key, 0) + value
        finally:
            predictor.close()
        if len(pred) and not np.isfinite(pred).any():
            raise PredictionsFailedError(
                f"every prediction of {name} on {task.name} seed {seed} failed; nothing to "
                "score (check the predictor's log above, fix it and rerun)"
            )
        gold = np.asarray([r.score(protocol.gold_field) for r in tests])
        row: dict[str, Any] = {metric: fn(pred, gold) for metric, fn in METRICS.items()}
        row["failures"] = int((~np.isfinite(pred)).sum())
        row["demos"], row["test"] = len(demos), len(tests)
        row["predictions"] = [
            {
                "arch": r.arch.to_hat(),
                "gold": float(g),
                "pred": None if not np.isfinite(p) else float(p),
            }
            for r, g, p in zip(tests, gold, pred, strict=True)
        ]
        per_seed[str(seed)] = row
        log.info("%s seed %s: MAE %.3f tau %.3f", task.name, seed, row["mae"], row["kendall"])
    result: dict[str, Any] = {
        metric: summarize([per_seed[str(s)][metric] for s in protocol.seeds]) for metric in METRICS
    }
    result["seeds"] = per_seed
    return result, cost, name
