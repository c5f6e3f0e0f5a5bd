"""Token-budget batches (fairseq's ``max_tokens``) planned from a lengths array.

A batch plan is two integer arrays, never per-pair Python lists: ``order`` (pair
indices sorted by padded cost, ties in a seeded random order) and ``bounds`` (batch
``k`` is ``order[bounds[k]:bounds[k + 1]]``). Batches are cut greedily so that
``n_sentences x longest`` stays within ``max_tokens``; their order is reshuffled
every epoch from ``(seed, epoch)``. Under DDP each rank takes every ``world``-th
batch of the same plan, truncated so all ranks step together and none overlap.

The sampler knows how to skip the batches an interrupted epoch already consumed
(``resume``), which is what makes a requeued job continue mid-epoch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from llmpp.data.binarized import PackedPairs
from llmpp.data.build import BOS, EOS, PAD


def plan_batches(
    costs: Sequence[int] | np.ndarray, max_tokens: int, rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray]:
    """``(order, bounds)`` of length-sorted greedy batches (random tie order with ``rng``)."""
    costs = np.asarray(costs)
    if costs.dtype.kind not in "iu":
        costs = costs.astype(np.int64)
    # int32 positions halve the plan's memory (tens of millions of pairs per rank).
    index_dtype = np.int32 if len(costs) < 2**31 else np.int64
    if rng is None:
        order = np.argsort(costs, kind="stable").astype(index_dtype)
    else:  # a random permutation, then a stable sort: equal costs keep a random order
        perm = rng.permutation(len(costs)).astype(index_dtype)
        order = perm[np.argsort(costs[perm], kind="stable")]
    sorted_costs = costs[order]
    bounds = [0]
    start, n = 0, len(order)
    while start < n:
        # Costs ascend, so a batch from `start` holds at most max_tokens // cost[start]
        # pairs, and `cost[j] * size` only grows with j: its budget test is a prefix.
        room = max(1, max_tokens // max(1, int(sorted_costs[start])))
        window = sorted_costs[start : start + room]
        padded = window * np.arange(1, len(window) + 1)
        size = max(1, int(np.searchsorted(padded, max_tokens, side="right")))
        start += size
        bounds.append(start)
    return order, np.asarray(bounds, dtype=np.int64)


def make_batches(
    lengths: Sequence[int] | np.ndarray, max_tokens: int, rng: np.random.Generator | None
) -> list[list[int]]:
    """Index lists of length-sorted batches (small inputs; the sampler keeps the arrays)."""
    order, bounds = plan_batches(lengths, max_tokens, rng)
    return [order[a:b].tolist() for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


class TokenBatchSampler:
    """Yields lists of indices; one pass = one epoch, reshuffled per epoch.

    Lightning calls ``set_epoch`` before every epoch (also after a resume), so the
    plan of an epoch depends only on ``(seed, epoch)`` and is the same on every rank.
    """

    def __init__(
        self,
        lengths: Sequence[int] | np.ndarray,
        max_tokens: int,
        *,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        self.costs = np.asarray(lengths)
        if len(self.costs) and max_tokens < int(self.costs.max()):
            raise ValueError(f"max_tokens={max_tokens} is smaller than the longest sentence")
        self.max_tokens = int(max_tokens)
        self.shuffle, self.seed, self.rank, self.world = shuffle, seed, rank, world
        self.epoch = 0
        self._epoch_set = False
        self._skip: tuple[int, int] | None = None  # (epoch, batches already consumed)
        self._plan: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def sampler(self) -> TokenBatchSampler:
        # Lightning calls ``set_epoch`` on ``dataloader.batch_sampler.sampler`` each epoch
        # (not on the batch sampler itself); pointing it here keeps the plan in step
        # with ``trainer.current_epoch``, also after a resume.
        return self

    def set_epoch(self, epoch: int) -> None:
        """Use the plan of ``epoch`` (called by Lightning at the start of each epoch)."""
        self.epoch, self._epoch_set = int(epoch), True

    def resume(self, epoch: int, consumed: int) -> None:
        """Skip the first ``consumed`` batches of ``epoch`` when that epoch is iterated."""
        self._skip = (int(epoch), int(consumed))

    def _rank_plan(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key = self.epoch if self.shuffle else 0
        if self._plan is None or self._plan[0] != key:
            rng = np.random.default_rng([self.seed, self.epoch]) if self.shuffle else None
            order, bounds = plan_batches(self.costs, self.max_tokens, rng)
            count = len(bounds) - 1
            batch_ids = rng.permutation(count) if rng is not None else np.arange(count)
            usable = count - count % self.world if count >= self.world else count
            self._plan = (key, order, bounds, batch_ids[:usable][self.rank :: self.world])
        return self._plan[1:]

    def __iter__(self) -> Iterator[list[int]]:
        order, bounds, mine = self._rank_plan()
        start = 0
        if self._skip is not None and self._skip[0] == self.epoch:
            start = min(self._skip[1], len(mine))
            self._skip = None
        if not self._epoch_set:  # plain iteration outside Lightning: next pass, next epoch
            self.epoch += 1
        self._epoch_set = False
        for k in mine[start:].tolist():
            yield order[bounds[k] : bounds[k + 1]].tolist()

    def __len__(self) -> int:
        return len(self._rank_plan()[2])


def _place(flat: np.ndarray, lengths: np.ndarray, width: int, shift: int = 0) -> np.ndarray:
    """Rows of ``flat`` laid into a PAD matrix from column ``shift`` (no Python loop)."""
    out = np.full((len(lengths), width), PAD, dtype=np.int64)
    # Row-major boolean assignment fills each row's prefix in order.
    mask = np.arange(width - shift) < lengths[:, None]
    out[:, shift:][mask] = flat
    return out


def collate(batch: PackedPairs | Sequence[tuple[Sequence[int], Sequence[int]]]) -> dict:
    """Pad a batch of (source ids, target ids) pairs into model inputs.

    Source = ids + EOS; decoder input = BOS + target ids; decoder output = ids + EOS.
    """
    packed = batch if isinstance(batch, PackedPairs) else PackedPairs.from_pairs(batch)
    rows = np.arange(len(packed))
    src_width = int(packed.src_lengths.max(initial=0)) + 1
    tgt_width = int(packed.tgt_lengths.max(initial=0)) + 1
    src = _place(packed.src, packed.src_lengths, src_width)
    src[rows, packed.src_lengths] = EOS
    tgt_out = _place(packed.tgt, packed.tgt_lengths, tgt_width)
    tgt_out[rows, packed.tgt_lengths] = EOS
    tgt_in = _place(packed.tgt, packed.tgt_lengths, tgt_width, shift=1)
    tgt_in[:, 0] = BOS
    return {
        "src": torch.from_numpy(src),
        "tgt_in": torch.from_numpy(tgt_in),
        "tgt_out": torch.from_numpy(tgt_out),
    }


class PairDataset(torch.utils.data.Dataset):
    """Index access to in-memory (source ids, target ids) pairs (tests, tiny inputs)."""

    def __init__(self, pairs: Sequence[tuple[Sequence[int], Sequence[int]]]) -> None:
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int):
        return self.pairs[index]

    def costs(self) -> np.ndarray:
        """Padded cost of each pair (the longer side, with EOS/BOS)."""
        return np.asarray([max(len(s), len(t)) + 1 for s, t in self.pairs], dtype=np.int64)
