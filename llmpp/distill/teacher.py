"""Labels from any predictor: score an architecture pool into ``labels.jsonl`` rows.

LLM-PP labels come from ``llmpp label``; this module makes every other predictor a
teacher too (the linear baseline, an ensemble, a synthetic function in tests), on
the authors' 500-architecture distillation pools or on architectures sampled from
the space with a seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from llmpp.distill.labels import label_row
from llmpp.gold.records import load_gold_split, load_pool
from llmpp.gold.source import GoldSource
from llmpp.predictors.base import Demonstration, Predictor, TaskContext
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace
from llmpp.task import TaskSpec

# Destination seeds of the authors' pools (bleu_predictor_data/<dest_seed>/...).
POOL_DEST_SEEDS = (
    111,
    122,
    133,
    144,
    155,
    166,
    177,
    188,
    199,
    222,
    333,
    444,
    555,
    666,
    777,
    888,
    999,
)


def _unique(archs: Sequence[Architecture]) -> list[Architecture]:
    seen: dict[str, Architecture] = {}
    for arch in archs:
        seen.setdefault(arch.key(), arch)
    return list(seen.values())


def sampled_pool(space: SearchSpace, n: int, seed: int) -> list[Architecture]:
    """``n`` distinct architectures sampled uniformly (per gene) from ``space``."""
    rng = np.random.default_rng(seed)
    pool: dict[str, Architecture] = {}
    for _ in range(50 * n):  # bounded: tiny spaces may hold fewer than n architectures
        if len(pool) >= n:
            break
        arch = space.sample(rng)
        pool.setdefault(arch.key(), arch)
    return list(pool.values())


def gold_pool(
    gold_task: str,
    seed: int,
    dest_seeds: Sequence[int] = POOL_DEST_SEEDS,
    *,
    source: GoldSource | None = None,
) -> list[Architecture]:
    """The authors' distillation pools of one protocol seed, concatenated and deduplicated."""
    archs: list[Architecture] = []
    for dest_seed in dest_seeds:
        archs += load_pool(gold_task, seed, int(dest_seed), source=source)
    return _unique(archs)


def gold_demonstrations(
    gold_task: str, seed: int, *, source: GoldSource | None = None, gold_field: str = "valid_BLEU"
) -> list[Demonstration]:
    """The 10 demonstrations of a protocol seed (what the teacher is fitted on)."""
    return [
        Demonstration(r.arch, r.score(gold_field))
        for r in load_gold_split(gold_task, seed, "train", source=source)
    ]


def label_with_predictor(
    predictor: Predictor,
    archs: Sequence[Architecture],
    demonstrations: Sequence[Demonstration],
    *,
    task: TaskSpec,
    space: SearchSpace,
    seed: int,
) -> list[dict[str, Any]]:
    """Fit ``predictor`` on ``demonstrations``, score ``archs``; rows in the labels format."""
    predictor.setup(TaskContext(task=task, space=space, seed=seed))
    try:
        predictor.fit(list(demonstrations))
        scores = np.asarray(predictor.predict(list(archs)), dtype=float)
        name = predictor.name
    finally:
        predictor.close()
    return [
        label_row(arch, float(score), backend="predictor", model=name, task=task.name, seed=seed)
        for arch, score in zip(archs, scores, strict=True)
    ]
