"""Cheap deterministic predictors for tests, smoke runs and benchmarks.

``ToyPredictor`` scores a smooth function of the space's features, so searches
have something to climb; ``delay_per_arch`` imitates a predictor's real cost
(the supernet's validation pass, Distill-PP's forward) for benchmarks.
``TargetPredictor`` scores closeness to one known architecture, so a test knows the
optimum and can tell a search that climbs from one that wanders.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from llmpp.predictors.base import Demonstration, Predictor
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace


class ToyPredictor(Predictor):
    """``score = w . features - penalty * ||features - 0.7||^2`` (higher is better).

    Args:
        space: the space whose ``hat`` features are scored (else the context's).
        seed: draws the weights, so two toy predictors can disagree a little.
        noise: how far the weights of different seeds differ (0: identical).
        delay_per_arch: seconds slept per scored architecture.
        label: the predictor's name.
        checkpoint: ignored (kept so it can replace ``SupernetPredictor`` in configs).
    """

    def __init__(
        self,
        *,
        space: SearchSpace | None = None,
        seed: int = 0,
        noise: float = 0.0,
        delay_per_arch: float = 0.0,
        label: str = "toy",
        checkpoint: str | None = None,
    ) -> None:
        self.space = space
        self.checkpoint = checkpoint  # recorded only: lets it stand in for a supernet
        base = np.linspace(1.0, 2.0, 10)
        self.weights = base + noise * np.random.default_rng(seed).normal(size=10)
        self.delay_per_arch = float(delay_per_arch)
        self.label = label
        self.calls = 0

    @property
    def name(self) -> str:
        return self.label

    def fit(self, demonstrations: Sequence[Demonstration]) -> ToyPredictor:
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        if not archs:
            return np.zeros(0)
        space = self.space or self._require_context().space
        features = space.encode(list(archs), "hat").astype(np.float64)
        if self.delay_per_arch:
            time.sleep(self.delay_per_arch * len(archs))
        self.calls += 1
        return features @ self.weights - 3.0 * ((features - 0.7) ** 2).sum(axis=1)

    def cost(self) -> dict[str, float]:
        return {"calls": float(self.calls)}


class TargetPredictor(Predictor):
    """``score = -||fine(arch) - fine(target)||^2``: the optimum is ``target`` (score 0).

    Per-layer ("fine") features make the optimum unique: only ``target`` itself scores 0,
    and every gene that moves towards it raises the score, so a search that selects
    well climbs steadily and one that selects badly does not.

    Args:
        space: the space the architectures lie in.
        target: the optimum (default: a random architecture drawn with ``seed``).
        seed: draws the default target.
        label: the predictor's name.
    """

    def __init__(
        self,
        *,
        space: SearchSpace,
        target: Architecture | None = None,
        seed: int = 0,
        label: str = "target",
    ) -> None:
        self.space = space
        self.target = target or space.sample(np.random.default_rng(seed))
        self._target = space.encode([self.target], "fine").astype(np.float64)[0]
        self.label = label
        self.calls = 0

    @property
    def name(self) -> str:
        return self.label

    def fit(self, demonstrations: Sequence[Demonstration]) -> TargetPredictor:
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        if not archs:
            return np.zeros(0)
        self.calls += 1
        features = self.space.encode(list(archs), "fine").astype(np.float64)
        return -((features - self._target) ** 2).sum(axis=1)

    def cost(self) -> dict[str, float]:
        return {"calls": float(self.calls)}
