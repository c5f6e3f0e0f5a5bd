"""The architectures a teacher labels: the authors' distillation pools or a sample of the space."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from llmpp.gold.records import load_pool
from llmpp.gold.source import GoldSource
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace

# Destination seeds of the authors' pools (bleu_predictor_data/<dest_seed>/...).
POOL_DEST_SEEDS = (111, 122, 133, 144, 155, 166, 177, 188, 199, 222, 333, 444, 555, 666, 777,
                   888, 999)


def unique(archs: Sequence[Architecture]) -> list[Architecture]:
    """``archs`` without repeats, in first-seen order (a stable labelling order)."""
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
    return unique(archs)
