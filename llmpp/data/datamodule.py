"""The LightningDataModule of a translation task (any task with a ``data`` block).

``task.data.kind: fairseq`` reads a fairseq-preprocess folder (HAT's binarized WMT,
``task.data.data_dir``) in place through the same batching (``llmpp.data.fairseq``);
other kinds build llmpp's own cached corpus.

Its ``state_dict`` — stored by Lightning in every checkpoint — records how many
training batches of which epoch the model has consumed, so a resumed fit continues
with the batches of that epoch it has not seen (a requeued SLURM job does not
restart its epoch). Consumption is counted where a batch enters the training step
(``on_before_batch_transfer``), not where the sampler yields it: Lightning and the
DataLoader workers fetch ahead, and those prefetched batches were never trained on.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig

from llmpp.data.batching import TokenBatchSampler, collate, plan_batches
from llmpp.data.binarized import BinarizedSplit
from llmpp.data.corpus import DEFAULT_CHUNK_PAIRS, Corpus, load_corpus, prepare_corpus
from llmpp.data.fairseq import FairseqCorpus


class TranslationDataModule(L.LightningDataModule):
    """Token-count batches of a cached, binarized, memory-mapped corpus.

    Args:
        task: the task config (``conf/task/<name>.yaml``).
        max_tokens: padded tokens per training batch (per device).
        eval_max_tokens: the same for validation/test batches.
        valid_limit: use only the first ``valid_limit`` validation pairs (None = all).
        seed: shuffling seed.
        num_workers: DataLoader worker processes (they share the memory map).
        build_workers: encoding processes if the corpus must be built (None = auto).
        chunk_pairs: pairs per encoding task when building (bounds the builder's memory).
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
        build_workers: int | None = None,
        chunk_pairs: int = DEFAULT_CHUNK_PAIRS,
    ) -> None:
        super().__init__()
        self.task = task
        self.max_tokens = int(max_tokens)
        self.eval_max_tokens = int(eval_max_tokens or max_tokens)
        self.valid_limit = valid_limit
        self.seed = seed
        self.num_workers = num_workers
        self._build = {"workers": build_workers, "chunk_pairs": int(chunk_pairs)}
        self.corpus: Corpus | FairseqCorpus | None = None
        self._train_sampler: TokenBatchSampler | None = None
        self._progress = {"epoch": 0, "consumed": 0}
        self._resume: dict[str, int] | None = None

    @property
    def is_fairseq(self) -> bool:
        """Whether the task reads a fairseq-preprocess folder in place (``kind: fairseq``)."""
        return str((self.task.get("data") or {}).get("kind", "")) == "fairseq"

    def prepare_data(self) -> None:
        if self.is_fairseq:
            FairseqCorpus.open(self.task)  # nothing to build; a wrong folder fails here
        else:
            prepare_corpus(self.task, **self._build)

    def setup(self, stage: str | None = None) -> None:
        if self.corpus is None:
            self.corpus = (FairseqCorpus.open(self.task) if self.is_fairseq
                           else load_corpus(self.task, **self._build))

    @property
    def vocab_size(self) -> int:
        return int(self.task["vocab_size"])

    def split(self, name: str) -> BinarizedSplit:  # or a FairseqSplit (same interface)
        """The dataset of one split (``train``, ``valid`` or ``test``)."""
        self.setup()
        limit = int(self.valid_limit) if name == "valid" and self.valid_limit else None
        return self.corpus.split(name, limit)

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
            dataset.costs(),
            max_tokens or self.eval_max_tokens,
            shuffle=shuffle,
            seed=self.seed,
            rank=rank,
            world=world,
        )
        return torch.utils.data.DataLoader(
            dataset,
            batch_sampler=sampler,
            collate_fn=collate,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            # Starting an iterator draws its workers' base seed; from the loader's own
            # generator, not torch's global one, so a resumed run's extra iterator leaves
            # the random state (dropout) as the uninterrupted run has it.
            generator=torch.Generator().manual_seed(int(self.seed)),
        )

    def source_batches(
        self, name: str, *, limit: int | None = None, max_tokens: int | None = None
    ) -> Iterator[tuple[torch.Tensor, list[int]]]:
        """``(padded source ids, row indices)`` batches of a split, for translation."""
        dataset = self.split(name)
        n = min(len(dataset), limit or len(dataset))
        lengths = dataset.lengths("src")[:n] + 1
        order, bounds = plan_batches(lengths, max_tokens or self.eval_max_tokens, None)
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            rows = order[a:b].tolist()
            yield collate(dataset.__getitems__(rows))["src"], rows

    def references(self, name: str, limit: int | None = None) -> list[str]:
        """Raw target sentences of a split (BLEU references)."""
        self.setup()
        refs = self.corpus.references(name)
        return refs[:limit] if limit else refs

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        loader = self.loader("train", shuffle=True, max_tokens=self.max_tokens)
        self._train_sampler = loader.batch_sampler
        trainer = getattr(self, "trainer", None)
        if trainer is not None:
            # DataLoader workers start drawing batches when the iterator is created,
            # before Lightning's per-epoch set_epoch: start on the (restored) epoch.
            self._train_sampler.set_epoch(int(trainer.current_epoch))
        if self._resume is not None:
            self._train_sampler.resume(self._resume["epoch"], self._resume["consumed"])
            self._resume = None
        return loader

    def val_dataloader(self) -> torch.utils.data.DataLoader:
        return self.loader("valid", shuffle=False)

    def test_dataloader(self) -> torch.utils.data.DataLoader:
        return self.loader("test", shuffle=False)

    # ---- mid-epoch resume ----------------------------------------------------------------
    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        trainer = getattr(self, "trainer", None)
        if trainer is not None and trainer.training:
            epoch = int(trainer.current_epoch)
            if epoch != self._progress["epoch"]:
                self._progress = {"epoch": epoch, "consumed": 0}
            self._progress["consumed"] += 1
        return batch

    def state_dict(self) -> dict[str, Any]:
        """Training batches consumed so far in the current epoch (saved in checkpoints)."""
        return {"sampler": dict(self._progress), "seed": self.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the saved epoch after the batches it had already consumed."""
        progress = state.get("sampler")
        if not progress:
            return
        # Lightning warns that a mid-epoch resume of a loader without its own state_dict
        # sees batches twice; this datamodule skips them (the sampler's resume) instead.
        warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that "
                                "ended before the epoch ended")
        self._progress = {"epoch": int(progress["epoch"]), "consumed": int(progress["consumed"])}
        if self._train_sampler is not None:
            self._train_sampler.resume(**self._progress)
        else:
            self._resume = dict(self._progress)
