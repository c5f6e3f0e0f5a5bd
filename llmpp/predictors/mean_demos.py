"""The trivial baseline: every architecture gets the demonstrations' mean score."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from llmpp.predictors.base import Demonstration, Predictor
from llmpp.space.architecture import Architecture


class MeanDemosPredictor(Predictor):
    """Predicts the mean gold score of the demonstrations (MAE floor, tau = 0)."""

    def __init__(self) -> None:
        self.mean = float("nan")

    @property
    def name(self) -> str:
        return "mean_demos"

    def fit(self, demonstrations: Sequence[Demonstration]) -> MeanDemosPredictor:
        self.mean = float(np.mean([d.score for d in demonstrations]))
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        return np.full(len(archs), self.mean, dtype=np.float64)
