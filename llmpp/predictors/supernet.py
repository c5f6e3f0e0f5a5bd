"""Scores architectures with the weights they inherit from a trained SuperTransformer.

The paper's weight-sharing baseline, and HS-NAS's second-phase predictor. The score
is ``-validation loss`` (default; higher is better) or the validation BLEU of the
sub-network run in place inside the supernet. The validation batches are collated
once and reused for every architecture; scores are memoised per architecture (in
this process, across predictor instances loading the same checkpoint), so a search
that revisits an architecture pays nothing.
"""

from __future__ import annotations

import logging
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
# (checkpoint, mtime) -> loaded module;
# (checkpoint, mtime, metric, settings, arch key) -> score
_MODULES: dict[tuple[str, float], Any] = {}
_SCORES: dict[tuple, float] = {}


class SupernetPredictor(Predictor):
    """Inherited-weight validation loss or BLEU of a Lightning supernet checkpoint.

    Args:
        checkpoint: the ``.ckpt`` written by ``llmpp supernet`` (``checkpoints/last.ckpt``).
        metric: ``loss`` (score = -mean token cross entropy) or ``bleu``.
        valid_limit: validation pairs used (None = all); fewer is faster and noisier.
        max_tokens: padded tokens per evaluation batch.
        beam: beam size for ``metric=bleu`` (1 = greedy).
        device: ``cpu``, ``cuda`` or ``auto``.
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
    ) -> None:
        if metric not in METRICS:
            raise ConfigError(f"predictor.metric={metric!r} is unknown; choose one of: loss, bleu")
        if not checkpoint:
            raise ConfigError(
                "predictor=supernet needs predictor.checkpoint=<.ckpt from llmpp supernet>"
            )
        self.checkpoint = str(Path(checkpoint).expanduser())
        self.metric, self.valid_limit, self.max_tokens, self.beam = (
            metric,
            valid_limit,
            max_tokens,
            beam,
        )
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.module = None
        self._batches: list[dict[str, torch.Tensor]] | None = None
        self._datamodule = None
        self._stats = {"evaluations": 0, "cache_hits": 0, "eval_seconds": 0.0}

    @property
    def name(self) -> str:
        return f"supernet[{self.metric}]"

    # ---- setup ---------------------------------------------------------------------------
    def _load(self):
        from llmpp.training.module import TranslationModule

        path = Path(self.checkpoint)
        key = (str(path.resolve()), path.stat().st_mtime if path.exists() else 0.0)
        if key not in _MODULES:
            _MODULES.clear()  # hold one supernet at a time
            _MODULES[key] = TranslationModule.from_checkpoint(path).to(self.device)
        self._key = key
        return _MODULES[key]

    def setup(self, context: TaskContext) -> None:
        super().setup(context)
        self.module = self._load()
        if not self.module.is_supernet:
            raise ConfigError(f"{self.checkpoint} holds one fixed architecture, not a supernet")
        if context.space is not None and context.space.hash() != self.module.space_hash:
            raise ConfigError(
                f"the supernet in {self.checkpoint} was trained on space {self.module.space.name} "
                f"(hash {self.module.space_hash}) but this run uses space {context.space.name} "
                f"(hash {context.space.hash()}); pass the matching space=..."
            )
        trained_on = (self.module.hparams.task or {}).get("name")
        if trained_on and trained_on != context.task.name:
            raise ConfigError(
                f"the supernet in {self.checkpoint} was trained on task {trained_on}, "
                f"not {context.task.name}; pass task={trained_on} or another checkpoint"
            )

    def _datamodule_and_batches(self):
        if self._batches is None:
            from llmpp.data.datamodule import TranslationDataModule

            task = self.module.hparams.task
            if not task:
                raise ConfigError(f"{self.checkpoint} does not record its task's data settings")
            dm = TranslationDataModule(
                task, max_tokens=self.max_tokens, valid_limit=self.valid_limit
            )
            dm.setup()
            self._datamodule = dm
            self._batches = list(dm.loader("valid", shuffle=False))
        return self._datamodule, self._batches

    # ---- protocol ------------------------------------------------------------------------
    def fit(self, demonstrations: Sequence[Demonstration]) -> SupernetPredictor:
        return self  # a supernet is trained on the task, not on demonstrations

    def _score(self, arch: Architecture) -> float:
        from llmpp.training.evaluation import bleu_on_split, evaluate_loss

        dm, batches = self._datamodule_and_batches()
        model = self.module.run_arch(self.module.space.validate(arch))
        if self.metric == "loss":
            return -evaluate_loss(model, batches)
        return bleu_on_split(model, dm, "valid", limit=self.valid_limit, beam=self.beam).score

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        if self.module is None:
            self._require_context()
        settings = (self.metric, self.valid_limit, self.max_tokens, self.beam)
        out = []
        for arch in archs:
            key = (*self._key, *settings, arch.key())
            if key in _SCORES:
                self._stats["cache_hits"] += 1
            else:
                started = time.perf_counter()
                _SCORES[key] = self._score(arch)
                self._stats["eval_seconds"] += time.perf_counter() - started
                self._stats["evaluations"] += 1
            out.append(_SCORES[key])
        return as_scores(out)

    def cost(self) -> dict[str, float]:
        return dict(self._stats)

    def close(self) -> None:
        self._batches = None
        self._datamodule = None


def clear_memo() -> None:
    """Forget loaded supernets and memoised scores (tests, long-lived processes)."""
    _MODULES.clear()
    _SCORES.clear()
