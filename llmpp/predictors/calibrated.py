"""Any base predictor, linearly calibrated on the demonstrations.

Weight-sharing supernets rank well but predict BLEU systematically too low; a line
fitted from the base's predictions on the demonstrations to their gold scores
removes that offset without changing the ranking (for a positive slope).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from llmpp.predictors.base import Demonstration, Predictor, TaskContext
from llmpp.predictors.linear import fit_line
from llmpp.space.architecture import Architecture


class CalibratedPredictor(Predictor):
    """``score = a * base(arch) + b``, with ``a, b`` least squares on the demonstrations.

    Args:
        base: the predictor to calibrate.
        shift_only: fit only the offset ``b`` (``a = 1``); more robust with few demos.
    """

    def __init__(self, *, base: Predictor, shift_only: bool = False) -> None:
        self.base = base
        self.shift_only = shift_only
        self.slope, self.intercept = 1.0, 0.0

    @property
    def name(self) -> str:
        return f"calibrated[{self.base.name}]"

    def setup(self, context: TaskContext) -> None:
        super().setup(context)
        self.base.setup(context)

    def fit(self, demonstrations: Sequence[Demonstration]) -> CalibratedPredictor:
        self.base.fit(demonstrations)
        x = self.base.predict([d.arch for d in demonstrations])
        y = np.asarray([d.score for d in demonstrations], dtype=np.float64)
        ok = np.isfinite(x)
        if self.shift_only or ok.sum() < 2:
            self.slope = 1.0
            self.intercept = float(np.mean(y[ok] - x[ok])) if ok.any() else 0.0
        else:
            self.slope, self.intercept = fit_line(x[ok], y[ok])
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        return self.slope * self.base.predict(archs) + self.intercept

    def cost(self) -> dict[str, float]:
        return self.base.cost()

    def close(self) -> None:
        self.base.close()
