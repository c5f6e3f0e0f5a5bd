"""Cheap deterministic predictors for tests, smoke runs and benchmarks.

``ToyPredictor`` scores a smooth function of the space's features, so searches
have something to climb; ``delay_per_arch`` imitates a predictor's real cost
(the supernet's validation pass, Distill-PP's forward) for benchmarks.
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


class ParamsConstraint:
    """A small stand-in constraint: at most ``max_params`` parameters (no embeddings)."""

    def __init__(self, *, max_params: float, vocab_size: int = 1000, qkv_dim: int = 128) -> None:
        self.max_params = float(max_params)
        self.vocab_size, self.qkv_dim = vocab_size, qkv_dim

    def _params(self, arch: Architecture) -> float:
        from llmpp.metrics import efficiency

        eff = efficiency(arch, self.vocab_size, self.qkv_dim)
        return float(eff.num_parameters_without_embedding_weights)

    def is_satisfied(self, arch: Architecture) -> bool:
        return self._params(arch) <= self.max_params

    def violation(self, arch: Architecture) -> float:
        return max(0.0, self._params(arch) - self.max_params)
