"""Several predictors combined: their mean, or a ridge fit on the demonstrations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from llmpp.errors import ConfigError
from llmpp.predictors.base import Demonstration, Predictor, TaskContext
from llmpp.space.architecture import Architecture


def ridge_fit(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Ridge regression with an unpenalised intercept; features are standardised."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    y_mean = y.mean()
    weights = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - y_mean))
    coef = weights / scale
    return coef, float(y_mean - mean @ coef)


class EnsemblePredictor(Predictor):
    """Combine member predictors.

    Args:
        members: the predictors to combine (each gets the same setup and demos).
        mode: ``mean`` (plain average) or ``ridge`` (weights fitted on the demos).
        alpha: ridge penalty on standardised member predictions.
    """

    def __init__(
        self, *, members: Sequence[Predictor], mode: str = "mean", alpha: float = 1.0
    ) -> None:
        if mode not in ("mean", "ridge"):
            raise ConfigError(f"predictor.mode={mode!r} is unknown; choose 'mean' or 'ridge'")
        if not members:
            raise ConfigError("predictor.members is empty; list at least one predictor")
        self.members = list(members)
        self.mode = mode
        self.alpha = alpha
        self.coef = np.full(len(self.members), 1.0 / len(self.members))
        self.intercept = 0.0

    @property
    def name(self) -> str:
        return f"ensemble[{self.mode}: " + ", ".join(m.name for m in self.members) + "]"

    def setup(self, context: TaskContext) -> None:
        super().setup(context)
        for member in self.members:
            member.setup(context)

    def _stack(self, archs: Sequence[Architecture]) -> np.ndarray:
        return np.stack([m.predict(archs) for m in self.members], axis=1)

    def fit(self, demonstrations: Sequence[Demonstration]) -> EnsemblePredictor:
        for member in self.members:
            member.fit(demonstrations)
        if self.mode == "ridge":
            x = self._stack([d.arch for d in demonstrations])
            y = np.asarray([d.score for d in demonstrations], dtype=np.float64)
            ok = np.isfinite(x).all(axis=1)
            self.coef, self.intercept = ridge_fit(x[ok], y[ok], self.alpha)
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        if not archs:
            return np.zeros(0)
        return self._stack(archs) @ self.coef + self.intercept

    def cost(self) -> dict[str, float]:
        total: Counter = Counter()
        for member in self.members:
            total.update(member.cost())
        return dict(total)

    def close(self) -> None:
        for member in self.members:
            member.close()
