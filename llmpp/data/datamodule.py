"""The LightningDataModule of a translation task (any task with a ``data`` block)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig

from llmpp.data.batching import PairDataset, TokenBatchSampler, collate, make_batches
from llmpp.data.corpus import Corpus, load_corpus, prepare_corpus


class TranslationDataModule(L.LightningDataModule):
    """Token-count batches of a cached, SentencePiece-encoded corpus.

    Args:
        task: the task config (``conf/task/<name>.yaml``).
        max_tokens: padded tokens per training batch (per device).
        eval_max_tokens: the same for validation/test batches.
        valid_limit: use only the first ``valid_limit`` validation pairs (None = all).
        seed: shuffling seed.
    """

    def __init__(
        self,
        task: Mapping[str, Any] | DictConfig,
        *,
        max_tokens: int = 4096,
        eval_max_tokens: int | None = None,
        valid_limit: int | None = None,
        seed: int = 0,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        self.task = task
        self.max_tokens = int(max_tokens)
        self.eval_max_tokens = int(eval_max_tokens or max_tokens)
        self.valid_limit = valid_limit
        self.seed = seed
        self.num_workers = num_workers
        self.corpus: Corpus | None = None

    def prepare_data(self) -> None:
        prepare_corpus(self.task)

    def setup(self, stage: str | None = None) -> None:
        if self.corpus is None:
            self.corpus = load_corpus(self.task)

    @property
    def vocab_size(self) -> int:
        return int(self.task["vocab_size"])

    def split(self, name: str) -> PairDataset:
        """The dataset of one split (``train``, ``valid`` or ``test``)."""
        self.setup()
        pairs = self.corpus.ids[name]
        if name == "valid" and self.valid_limit:
            pairs = pairs[: int(self.valid_limit)]
        return PairDataset(pairs)

    def _rank_world(self) -> tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 0, 1
        return trainer.global_rank, trainer.world_size

    def loader(
        self, name: str, *, shuffle: bool, max_tokens: int | None = None
    ) -> torch.utils.data.DataLoader:
        """A DataLoader over one split with token-count batches."""
        dataset = self.split(name)
        rank, world = self._rank_world() if shuffle else (0, 1)
        sampler = TokenBatchSampler(
            dataset.lengths(),
            max_tokens or self.eval_max_tokens,
            shuffle=shuffle,
            seed=self.seed,
            rank=rank,
            world=world,
        )
        return torch.utils.data.DataLoader(
            dataset, batch_sampler=sampler, collate_fn=collate, num_workers=self.num_workers
        )

    def source_batches(
        self, name: str, *, limit: int | None = None, max_tokens: int | None = None
    ) -> Iterator[tuple[torch.Tensor, list[int]]]:
        """``(padded source ids, row indices)`` batches of a split, for translation."""
        pairs = self.split(name).pairs
        rows = list(range(min(len(pairs), limit or len(pairs))))
        lengths = [len(pairs[i][0]) + 1 for i in rows]
        for batch in make_batches(lengths, max_tokens or self.eval_max_tokens, None):
            chosen = [rows[i] for i in batch]
            yield collate([pairs[i] for i in chosen])["src"], chosen

    def references(self, name: str, limit: int | None = None) -> list[str]:
        """Raw target sentences of a split (BLEU references)."""
        self.setup()
        refs = self.corpus.references[name]
        return refs[:limit] if limit else refs

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return self.loader("train", shuffle=True, max_tokens=self.max_tokens)

    def val_dataloader(self) -> torch.utils.data.DataLoader:
        return self.loader("valid", shuffle=False)

    def test_dataloader(self) -> torch.utils.data.DataLoader:
        return self.loader("test", shuffle=False)
