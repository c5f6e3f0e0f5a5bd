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
``race_keep`` best of them on the full set (successive halving with one round).
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
        valid_limit: validation pairs used (None = all); fewer is faster and noisier.
        max_tokens: padded tokens per evaluation batch.
        beam: beam size for ``metric=bleu`` (1 = greedy).
        device: ``cpu``, ``cuda`` or ``auto``.
        race_fraction: racing (``metric=loss`` only): score a batch of more than
            ``race_keep`` architectures on this fraction of the validation pairs first
            (None: off, every architecture on the full set — the paper's protocol).
        race_keep: how many of a raced batch get full-set scores. The others get their
            subset score shifted by the mean full-minus-subset gap of the kept ones and
            capped at the worst kept score, so they rank below every kept one.
        module: an in-memory supernet instead of ``checkpoint`` (see ``from_module``).
        datamodule: the data whose validation split is scored (default: the task's).
    """

    def __init__(
        self,
        *,
        checkpoint: str | None = None,
        metric: str = "loss",
        valid_limit: int | None = 200,
        max_tokens: int = 4096,
        beam: int = 1,
        device: str = "auto",
        race_fraction: float | None = None,
        race_keep: int = 25,
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
        if race_fraction is not None and metric != "loss":
            raise ConfigError("predictor.race_fraction works with metric=loss only")
        self.checkpoint = str(Path(checkpoint).expanduser()) if checkpoint else None
        self.metric, self.valid_limit, self.max_tokens, self.beam = (
            metric, valid_limit, max_tokens, beam)
        self.race_fraction = None if race_fraction is None else float(race_fraction)
        self.race_keep = int(race_keep)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = str(next(module.parameters()).device) if module is not None else device
        self.module = module
        self._datamodule = datamodule
        self._batches: dict[int | None, list[dict[str, torch.Tensor]]] = {}
        self._stats = {"evaluations": 0, "subset_evaluations": 0, "eval_seconds": 0.0}

    @classmethod
    def from_module(
        cls, module: Any, datamodule: Any = None, *, metric: str = "loss",
        valid_limit: int | None = 200, max_tokens: int = 4096, beam: int = 1,
        race_fraction: float | None = None, race_keep: int = 25,
    ) -> SupernetPredictor:
        """Score with an in-memory supernet's current weights (a search during training).

        Args:
            module: a ``TranslationModule`` holding a supernet (not copied: scores follow
                its weights as they train).
            datamodule: a ``TranslationDataModule`` whose validation split is used
                (default: one built from the module's task, as from a checkpoint).
            metric, valid_limit, max_tokens, beam, race_fraction, race_keep: as above.
        """
        return cls(metric=metric, valid_limit=valid_limit, max_tokens=max_tokens, beam=beam,
                   race_fraction=race_fraction, race_keep=race_keep, module=module,
                   datamodule=datamodule)

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

    def _valid_batches(self, limit: int | None) -> list[dict[str, torch.Tensor]]:
        """The first ``limit`` validation pairs, collated once per limit."""
        if limit not in self._batches:
            data = copy.copy(self._data())  # shares the corpus; only the limit differs
            data.valid_limit = limit
            self._batches[limit] = list(data.loader("valid", shuffle=False,
                                                    max_tokens=self.max_tokens))
        return self._batches[limit]

    # ---- protocol ------------------------------------------------------------------------
    def fit(self, demonstrations: Sequence[Demonstration]) -> SupernetPredictor:
        return self  # a supernet is trained on the task, not on demonstrations

    def _score(self, arch: Architecture, limit: int | None) -> float:
        from llmpp.training.evaluation import bleu_on_split, evaluate_loss

        started = time.perf_counter()
        model = self.module.run_arch(self.module.space.validate(arch))
        if self.metric == "loss":
            score = -evaluate_loss(model, self._valid_batches(limit))
        else:
            score = bleu_on_split(model, self._data(), "valid", limit=limit, beam=self.beam).score
        self._stats["eval_seconds"] += time.perf_counter() - started
        return score

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        if self.module is None:
            self._require_context()
        archs = list(archs)
        if self.race_fraction is not None and len(archs) > self.race_keep:
            return self._race(archs)
        self._stats["evaluations"] += len(archs)
        return as_scores([self._score(a, self.valid_limit) for a in archs])

    def _subset_limit(self) -> int:
        total = len(self._data().split("valid"))
        full = min(total, self.valid_limit) if self.valid_limit else total
        return max(1, math.ceil(self.race_fraction * full))

    def _race(self, archs: list[Architecture]) -> np.ndarray:
        """Subset scores for all, full scores for the ``race_keep`` best of them."""
        subset = np.asarray([self._score(a, self._subset_limit()) for a in archs])
        self._stats["subset_evaluations"] += len(archs)
        order = np.argsort(-np.nan_to_num(subset, nan=-np.inf), kind="stable")
        kept = order[: self.race_keep]
        scores = subset.copy()
        scores[kept] = [self._score(archs[i], self.valid_limit) for i in kept]
        self._stats["evaluations"] += len(kept)
        rest = order[self.race_keep:]
        gap = float(np.nanmean(scores[kept] - subset[kept]))
        scores[rest] = np.minimum(subset[rest] + gap, float(np.nanmin(scores[kept])))
        return as_scores(scores)

    def cost(self) -> dict[str, float]:
        return dict(self._stats)

    def close(self) -> None:
        self._batches = {}
