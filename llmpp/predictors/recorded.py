"""Replays a recorded column of the gold data (the paper's supernet baselines)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from llmpp.errors import ConfigError, DataNotFoundError
from llmpp.gold.records import RECORDED_COLUMNS
from llmpp.predictors.base import Demonstration, Predictor, as_scores
from llmpp.space.architecture import Architecture


class RecordedPredictor(Predictor):
    """Predicts what a weight-sharing supernet recorded for each architecture.

    Args:
        column: one of ``HAT``, ``Supernet (Sandwich)``, ``Layer-wise MoS``,
            ``Neuron-wise MoS`` (or another column of a custom gold set).
        field: which recorded value to use (``valid_BLEU`` as in the paper).
    """

    def __init__(self, *, column: str = "Neuron-wise MoS", field: str = "valid_BLEU") -> None:
        self.column = column
        self.field = field

    @property
    def name(self) -> str:
        return f"recorded[{self.column}]"

    def fit(self, demonstrations: Sequence[Demonstration]) -> RecordedPredictor:
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        context = self._require_context()
        out = []
        for arch in archs:
            record = context.record_of(arch)
            if record is None:
                raise DataNotFoundError(
                    f"no recorded prediction for architecture {arch.key()} ({arch.short()}); "
                    "the recorded predictor only scores architectures in the gold data"
                )
            if self.column not in record.recorded:
                known = ", ".join(record.recorded) or ", ".join(RECORDED_COLUMNS)
                raise ConfigError(
                    f"predictor.column={self.column!r} is not recorded; choose one of: {known}"
                )
            out.append(record.recorded[self.column][self.field])
        return as_scores(out)
