"""Token-count batching (fairseq's ``max_tokens``) and padding into tensors.

Sentences are sorted by length so that a batch wastes little padding, cut into
batches whose padded size ``n_sentences x longest`` stays under ``max_tokens``, and
the batch order is reshuffled every epoch from a seed. Under DDP each rank takes
every ``world``-th batch of the same list, truncated so all ranks step together.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from llmpp.data.corpus import BOS, EOS, PAD

Pair = tuple[Sequence[int], Sequence[int]]


def make_batches(
    lengths: Sequence[int], max_tokens: int, rng: np.random.Generator | None
) -> list[list[int]]:
    """Index lists of length-sorted batches (random tie order when ``rng`` is given)."""
    lengths = np.asarray(lengths)
    ties = rng.random(len(lengths)) if rng is not None else np.arange(len(lengths))
    order = np.lexsort((ties, lengths))
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for index in order.tolist():
        longest_if_added = max(longest, int(lengths[index]))
        if current and longest_if_added * (len(current) + 1) > max_tokens:
            batches.append(current)
            current, longest_if_added = [], int(lengths[index])
        current.append(index)
        longest = longest_if_added
    if current:
        batches.append(current)
    return batches


class TokenBatchSampler:
    """Yields lists of indices; one pass = one epoch, reshuffled per epoch."""

    def __init__(
        self,
        lengths: Sequence[int],
        max_tokens: int,
        *,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        if max_tokens < max(lengths, default=1):
            raise ValueError(f"max_tokens={max_tokens} is smaller than the longest sentence")
        self.lengths, self.max_tokens = list(lengths), max_tokens
        self.shuffle, self.seed, self.rank, self.world = shuffle, seed, rank, world
        self.epoch = 0

    def _epoch_batches(self) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch]) if self.shuffle else None
        batches = make_batches(self.lengths, self.max_tokens, rng)
        if rng is not None:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        usable = (
            len(batches) - len(batches) % self.world if len(batches) >= self.world else len(batches)
        )
        return batches[:usable][self.rank :: self.world]

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._epoch_batches()
        self.epoch += 1
        yield from batches

    def __len__(self) -> int:
        return len(self._epoch_batches())


def collate(pairs: Sequence[Pair]) -> dict[str, torch.Tensor]:
    """Pad a list of (source ids, target ids) into model inputs.

    Source = ids + EOS; decoder input = BOS + target ids; decoder output = ids + EOS.
    """
    sources = [list(s) + [EOS] for s, _ in pairs]
    targets = [list(t) for _, t in pairs]
    batch = len(pairs)
    src = torch.full((batch, max(map(len, sources))), PAD, dtype=torch.long)
    tgt_len = max(map(len, targets)) + 1
    tgt_in = torch.full((batch, tgt_len), PAD, dtype=torch.long)
    tgt_out = torch.full((batch, tgt_len), PAD, dtype=torch.long)
    for i, (s, t) in enumerate(zip(sources, targets, strict=True)):
        src[i, : len(s)] = torch.tensor(s)
        tgt_in[i, : len(t) + 1] = torch.tensor([BOS, *t])
        tgt_out[i, : len(t) + 1] = torch.tensor([*t, EOS])
    return {"src": src, "tgt_in": tgt_in, "tgt_out": tgt_out}


class PairDataset(torch.utils.data.Dataset):
    """Index access to (source ids, target ids) pairs."""

    def __init__(self, pairs: Sequence[Pair]) -> None:
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> Pair:
        return self.pairs[index]

    def lengths(self) -> list[int]:
        """Padded cost of each pair (the longer side, with EOS/BOS)."""
        return [max(len(s), len(t)) + 1 for s, t in self.pairs]
