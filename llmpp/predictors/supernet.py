"""Scores architectures with the weights they inherit from a trained SuperTransformer.

The paper's weight-sharing baseline, and HS-NAS's second-phase predictor. The score
is ``-validation loss`` (default; higher is better) or the validation BLEU of the
sub-network run in place inside the supernet. The validation batches are collated
once and reused for every architecture. The predictor remembers nothing between
calls: a search's memo is per search (``llmpp.search.memo.MemoScorer``), so two
searches in one process never hand each other free scores.

Racing (``race_fraction``) makes a large batch cheaper when only its best members
matter, as in evolution where only candidates that can enter the parents count:
every architecture is first scored on a validation subset, and only the
``race_keep`` best of them on the rest of the set (successive halving with one round;
the subset's work counts toward their full score).

Sub-networks that share an encoder configuration share its output: a batch of
architectures is scored grouped by ``SuperTransformer.encoder_key``, the encoder runs
once per group and only the decoders per architecture (``reuse_encoder``; the scores
are the same as running each whole).
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from llmpp.errors import ConfigError
from llmpp.predictors.base import Demonstration, Predictor, TaskContext, as_scores
from llmpp.space.architecture import Architecture

log = logging.getLogger(__name__)

METRICS = ("loss", "bleu")


class SupernetPredictor(Predictor):
    """Inherited-weight validation loss or BLEU of a Lightning supernet checkpoint.

    Args:
        checkpoint: the ``.ckpt`` written by ``llmpp supernet`` (``checkpoints/last.ckpt``).
        metric: ``loss`` (score = -mean token cross entropy) or ``bleu``.
        valid_limit: validation pairs used (None = all, HAT's and the paper's protocol);
            fewer is faster and noisier (llmpp's option).
        label_smoothing: the loss scored (``metric=loss``): 0 = the plain cross entropy
            (llmpp's option), > 0 = the label-smoothed loss HAT's search ranks by
            (its training criterion, 0.1).
        max_tokens: padded tokens per evaluation batch.
        beam: beam size for ``metric=bleu`` (1 = greedy).
        device: ``cpu``, ``cuda`` or ``auto``.
        race_fraction: racing (``metric=loss`` only): score a batch of more than
            ``race_keep`` architectures on this fraction of the validation pairs first
            (None: off, every architecture on the full set — the paper's protocol).
        race_keep: how many of a raced batch get full-set scores. The others get their
            subset score shifted by the mean full-minus-subset gap of the kept ones and
            capped at the worst kept score, so they rank below every kept one.
        reuse_encoder: run the encoder once per encoder configuration of a batch
            (same scores; off = every architecture runs whole, to measure the saving).
        module: an in-memory supernet instead of ``checkpoint`` (see ``from_module``).
        datamodule: the data whose validation split is scored (default: the task's).
    """

    def __init__(
        self,
        *,
        checkpoint: str | None = None,
        metric: str = "loss",
        valid_limit: int | None = 200,
        label_smoothing: float = 0.0,
        max_tokens: int = 4096,
        beam: int = 1,
        device: str = "auto",
        race_fraction: float | None = None,
        race_keep: int = 25,
        reuse_encoder: bool = True,
        module: Any = None,
        datamodule: Any = None,
    ) -> None:
        if not checkpoint and module is None:
            raise ConfigError(
                "predictor=supernet needs predictor.checkpoint=<.ckpt from llmpp supernet>"
            )
        if metric not in METRICS:
            raise ConfigError(f"predictor.metric={metric!r} is unknown; choose one of: loss, bleu")
        if race_fraction is not None and not (0.0 < float(race_fraction) < 1.0):
            raise ConfigError(f"predictor.race_fraction={race_fraction} must lie in (0, 1)")
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ConfigError(f"predictor.label_smoothing={label_smoothing} must lie in [0, 1)")
        if race_fraction is not None and metric != "loss":
            raise ConfigError("predictor.race_fraction works with metric=loss only")
        self.checkpoint = str(Path(checkpoint).expanduser()) if checkpoint else None
        self.metric, self.valid_limit, self.max_tokens, self.beam = (
            metric, valid_limit, max_tokens, beam)
        self.label_smoothing = float(label_smoothing)
        self.race_fraction = None if race_fraction is None else float(race_fraction)
        self.race_keep = int(race_keep)
        self.reuse_encoder = bool(reuse_encoder)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = str(next(module.parameters()).device) if module is not None else device
        self.module = module
        self._datamodule = datamodule
        self._batches: dict[tuple[int, int], list[dict[str, torch.Tensor]]] = {}
        self._full: int | None = None  # validation pairs of a full score, once known
        self._stats = {"evaluations": 0, "subset_evaluations": 0, "eval_seconds": 0.0,
                       "pairs_scored": 0, "encoder_reuses": 0}

    @classmethod
    def from_module(
        cls, module: Any, datamodule: Any = None, *, metric: str = "loss",
        valid_limit: int | None = 200, label_smoothing: float = 0.0, max_tokens: int = 4096,
        beam: int = 1, race_fraction: float | None = None, race_keep: int = 25,
        reuse_encoder: bool = True,
    ) -> SupernetPredictor:
        """Score with an in-memory supernet's current weights (a search during training).

        Args:
            module: a ``TranslationModule`` holding a supernet (not copied: scores follow
                its weights as they train).
            datamodule: a ``TranslationDataModule`` whose validation split is used
                (default: one built from the module's task, as from a checkpoint).
            metric, valid_limit, label_smoothing, max_tokens, beam, race_fraction,
                race_keep, reuse_encoder: as above.
        """
        return cls(metric=metric, valid_limit=valid_limit, label_smoothing=label_smoothing,
                   max_tokens=max_tokens, beam=beam,
                   race_fraction=race_fraction, race_keep=race_keep,
                   reuse_encoder=reuse_encoder, module=module, datamodule=datamodule)

    @property
    def name(self) -> str:
        return f"supernet[{self.metric}]"

    # ---- setup ---------------------------------------------------------------------------
    def setup(self, context: TaskContext) -> None:
        super().setup(context)
        if self.module is None:
            from llmpp.training.module import TranslationModule

            self.module = TranslationModule.from_checkpoint(self.checkpoint).to(self.device)
        self._check_matches(context)

    def _check_matches(self, context: TaskContext) -> None:
        source = self.checkpoint or "the in-memory module"
        if not self.module.is_supernet:
            raise ConfigError(f"{source} holds one fixed architecture, not a supernet")
        if context.space is not None and context.space.hash() != self.module.space_hash:
            raise ConfigError(
                f"the supernet in {source} was trained on space {self.module.space.name} "
                f"(hash {self.module.space_hash}) but this run uses space {context.space.name} "
                f"(hash {context.space.hash()}); pass the matching space=..."
            )
        trained_on = (self.module.hparams.task or {}).get("name")
        if trained_on and trained_on != context.task.name:
            raise ConfigError(
                f"the supernet in {source} was trained on task {trained_on}, "
                f"not {context.task.name}; pass task={trained_on} or another checkpoint"
            )

    def _data(self):
        if self._datamodule is None:
            from llmpp.data.datamodule import TranslationDataModule

            task = self.module.hparams.task
            if not task:
                raise ConfigError(f"{self.checkpoint} does not record its task's data settings")
            self._datamodule = TranslationDataModule(task, max_tokens=self.max_tokens)
            self._datamodule.setup()
        return self._datamodule

    def _full_pairs(self) -> int:
        """How many validation pairs a full score covers (``valid_limit`` of the split)."""
        if self._full is None:
            total = len(self._valid_split())
            self._full = min(total, self.valid_limit) if self.valid_limit else total
        return self._full

    def _valid_split(self):
        data = copy.copy(self._data())  # shares the corpus; the predictor sets the limit
        data.valid_limit = None
        return data.split("valid")

    def _valid_batches(self, start: int, stop: int) -> list[dict[str, torch.Tensor]]:
        """Validation pairs ``[start, stop)`` in token-budget batches, collated once."""
        if (start, stop) not in self._batches:
            from llmpp.data.batching import collate, plan_batches

            split = self._valid_split()
            order, bounds = plan_batches(split.costs()[start:stop], self.max_tokens, None)
            self._batches[start, stop] = [
                collate(split.__getitems__((start + order[a:b]).tolist()))
                for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
            ]
        return self._batches[start, stop]

    # ---- protocol ------------------------------------------------------------------------
    def fit(self, demonstrations: Sequence[Demonstration]) -> SupernetPredictor:
        return self  # a supernet is trained on the task, not on demonstrations

    def _loss_sums(self, archs: Sequence[Architecture], start: int, stop: int
                   ) -> list[tuple[float, int]]:
        """``(nll sum, target tokens)`` of each architecture on validation pairs [start, stop).

        Grouped by encoder configuration: a group's encoder runs once (``reuse_encoder``).
        """
        from llmpp.training.evaluation import encode_batches, loss_sums

        batches = self._valid_batches(start, stop)
        supernet = self.module.model
        groups: dict[Any, list[int]] = {}
        for i, arch in enumerate(archs):
            key = supernet.encoder_key(arch) if self.reuse_encoder else None
            groups.setdefault(("alone", i) if key is None else key, []).append(i)
        sums: list[tuple[float, int]] = [(math.nan, 0)] * len(archs)
        started = time.perf_counter()
        for members in groups.values():
            encoded = None
            for i in members:
                model = self.module.run_arch(self.module.space.validate(archs[i]))
                if encoded is None and len(members) > 1:
                    encoded = encode_batches(model, batches)
                sums[i] = loss_sums(model, batches, encoded, self.label_smoothing)
            self._stats["encoder_reuses"] += len(members) - 1
        self._stats["eval_seconds"] += time.perf_counter() - started
        self._stats["pairs_scored"] += len(archs) * (stop - start)
        return sums

    def _bleu(self, arch: Architecture) -> float:
        from llmpp.training.evaluation import bleu_on_split

        started = time.perf_counter()
        model = self.module.run_arch(self.module.space.validate(arch))
        score = bleu_on_split(model, self._data(), "valid", limit=self.valid_limit,
                              beam=self.beam).score
        self._stats["eval_seconds"] += time.perf_counter() - started
        return score

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        if self.module is None:
            self._require_context()
        archs = list(archs)
        if self.metric == "bleu":
            self._stats["evaluations"] += len(archs)
            return as_scores([self._bleu(a) for a in archs])
        if self.race_fraction is not None and len(archs) > self.race_keep:
            return self._race(archs)
        self._stats["evaluations"] += len(archs)
        return as_scores([-nll / max(n, 1) for nll, n in self._loss_sums(archs, 0,
                                                                         self._full_pairs())])

    def _race(self, archs: list[Architecture]) -> np.ndarray:
        """Subset scores for all, full scores for the ``race_keep`` best of them.

        The kept ones are scored on the remaining pairs only: their subset sums count.
        """
        full = self._full_pairs()
        cut = min(full, max(1, math.ceil(self.race_fraction * full)))
        head = self._loss_sums(archs, 0, cut)
        subset = np.asarray([-nll / max(n, 1) for nll, n in head])
        self._stats["subset_evaluations"] += len(archs)
        order = np.argsort(-np.nan_to_num(subset, nan=-np.inf), kind="stable")
        kept = order[: self.race_keep]
        tail = self._loss_sums([archs[i] for i in kept], cut, full) if cut < full else (
            [(0.0, 0)] * len(kept))
        scores = subset.copy()
        for i, (nll, n) in zip(kept, tail, strict=True):
            scores[i] = -(head[i][0] + nll) / max(head[i][1] + n, 1)
        self._stats["evaluations"] += len(kept)
        rest = order[self.race_keep:]
        gap = float(np.nanmean(scores[kept] - subset[kept]))
        scores[rest] = np.minimum(subset[rest] + gap, float(np.nanmin(scores[kept])))
        return as_scores(scores)

    def cost(self) -> dict[str, float]:
        return dict(self._stats)

    def close(self) -> None:
        self._batches = {}
