"""Least squares on one efficiency feature, fitted to the demonstrations."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from llmpp.errors import ConfigError
from llmpp.predictors.base import Demonstration, Predictor
from llmpp.space.architecture import Architecture

FEATURES = {
    "params": lambda e: e.num_parameters_without_embedding_weights,
    "total_params": lambda e: (
        e.num_parameters_without_embedding_weights + e.num_embedding_parameters
    ),
    "flops": lambda e: e.total_flops,
    "flops_without_last_layer": lambda e: e.total_flops_without_last_layer,
}


def fit_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of y ~ x; a constant x gives slope 0 and the mean of y."""
    if len(x) < 2 or np.ptp(x) == 0:
        return 0.0, float(np.mean(y))
    slope, intercept = np.polyfit(x, y, deg=1)
    return float(slope), float(intercept)


class LinearPredictor(Predictor):
    """``score = a * feature + b`` with ``feature`` one of params / flops / ...

    Args:
        feature: ``params`` (without embeddings), ``total_params``, ``flops`` or
            ``flops_without_last_layer``.
    """

    def __init__(self, *, feature: str = "params") -> None:
        if feature not in FEATURES:
            raise ConfigError(
                f"predictor.feature={feature!r} is unknown; choose one of: {', '.join(FEATURES)}"
            )
        self.feature = feature
        self.slope, self.intercept = 0.0, float("nan")

    @property
    def name(self) -> str:
        return f"linear[{self.feature}]"

    def _x(self, archs: Sequence[Architecture]) -> np.ndarray:
        context = self._require_context()
        values = [FEATURES[self.feature](context.efficiency(a)) for a in archs]
        # Work in millions/billions so polyfit is well conditioned.
        return np.asarray(values, dtype=np.float64) / 1e6

    def fit(self, demonstrations: Sequence[Demonstration]) -> LinearPredictor:
        x = self._x([d.arch for d in demonstrations])
        y = np.asarray([d.score for d in demonstrations], dtype=np.float64)
        self.slope, self.intercept = fit_line(x, y)
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        return self.slope * self._x(archs) + self.intercept
