"""Latency as a robust sum of layer costs, from HAT's 10 averaged features.

HAT's datasets hold per-layer *averages*, so a layer count times an average is the
total of that quantity over the layers (FFN width, heads, encoder layers read by the
cross-attention). Latency is close to a sum of such totals and their products with
the embedding width, plus fixed per-layer overhead, so:

* ``costs``: least squares on those cost terms, minimising *relative* error, with
  Huber re-weighting (iteratively re-weighted least squares) so the blocks of rows a
  device measured in a slower state (HAT's datasets have some: whole stretches of
  rows 5-15 % off the rest) pull the fit less than clean rows do.
* ``costs_gbdt``: ``costs`` plus a small LightGBM model of what it leaves (the log
  of measured / predicted, Huber loss), for what is not additive (kernel choices,
  caches).

docs/BENCHMARKS.md ("Latency predictors on HAT's measured data") has the evidence.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def cost_terms(x: np.ndarray) -> np.ndarray:
    """Cost terms of HAT's raw features ``[n, 10]`` (a constant column first)."""
    e_dim, e_layers, e_ffn, e_heads, d_dim, d_layers, d_ffn, d_heads, d_cross, d_reads = x.T
    return np.stack([
        np.ones(len(x)),
        e_layers * e_dim,  # encoder projections (qkv width fixed) and norms
        e_layers * e_ffn,  # encoder FFN
        e_layers * e_heads,  # per-head attention overhead
        e_layers * e_dim * e_ffn / 1e3,  # encoder FFN multiply-adds
        d_layers,  # fixed per-layer, per-step overhead of incremental decoding
        d_layers * d_dim,
        d_layers * d_ffn,
        d_layers * d_heads,
        d_layers * d_cross,
        d_layers * d_reads,  # cross-attention over 1-3 encoder layers' states
        d_layers * d_reads * d_dim,
        d_dim,  # output projection over the vocabulary
        d_layers * d_dim * d_ffn / 1e3,  # decoder FFN multiply-adds
        d_layers * d_cross * d_reads,
        e_dim,  # embeddings
    ], axis=1)


class CostLatencyModel:
    """Huber-robust relative least squares on ``cost_terms`` (see the module docstring).

    Args:
        huber: the Huber threshold in robust standard deviations of relative error.
        iterations: re-weighting rounds (1 = plain relative least squares).
    """

    kind = "costs"
    features = "hat_raw"

    def __init__(self, huber: float = 1.345, iterations: int = 10) -> None:
        self.huber, self.iterations = float(huber), int(iterations)
        self.mean = self.std = self.coef = None

    def _design(self, x: np.ndarray) -> np.ndarray:
        return (cost_terms(np.asarray(x, np.float64)) - self.mean) / self.std

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int = 0) -> CostLatencyModel:
        terms = cost_terms(np.asarray(x, np.float64))
        self.mean, self.std = terms.mean(axis=0), terms.std(axis=0)
        self.mean[0], self.std[0] = 0.0, 1.0  # keep the constant column
        self.std[self.std == 0] = 1.0
        z = self._design(x)
        weights = np.ones(len(y))
        for _ in range(self.iterations):
            w = weights / y  # relative error: residual / latency
            self.coef = np.linalg.lstsq(z * w[:, None], y * w, rcond=None)[0]
            rel = (z @ self.coef - y) / y
            scale = 1.4826 * np.median(np.abs(rel - np.median(rel))) + 1e-12
            u = np.abs(rel) / (self.huber * scale)
            weights = np.where(u <= 1.0, 1.0, 1.0 / np.maximum(u, 1e-12))
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        # A latency is positive; the floor only guards extrapolation far outside the data.
        return np.maximum(self._design(x) @ self.coef, 1e-3)

    def state(self) -> dict[str, Any]:
        return {"huber": self.huber, "iterations": self.iterations, "mean": self.mean.tolist(),
                "std": self.std.tolist(), "coef": self.coef.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, Any], in_dim: int | None = None) -> CostLatencyModel:
        model = cls(state["huber"], state["iterations"])
        model.mean, model.std = np.asarray(state["mean"]), np.asarray(state["std"])
        model.coef = np.asarray(state["coef"])
        return model


class CostGBDTLatencyModel:
    """``costs`` times exp(a LightGBM model of its log residual).

    Args:
        trees: boosting rounds of the residual model.
        lr: its shrinkage.
        leaves: its leaves per tree.
        min_rows: its fewest rows per leaf.
        huber: ``costs``' Huber threshold.
    """

    kind = "costs_gbdt"
    features = "hat_raw"

    def __init__(self, trees: int = 300, lr: float = 0.02, leaves: int = 7, min_rows: int = 20,
                 huber: float = 1.345) -> None:
        self.trees, self.lr, self.leaves = int(trees), float(lr), int(leaves)
        self.min_rows, self.huber = int(min_rows), float(huber)
        self.base = CostLatencyModel(huber)
        self.booster: Any = None

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int = 0) -> CostGBDTLatencyModel:
        import lightgbm  # imported on use: only the tree kinds need it

        self.base.fit(x, y, seed)
        residual = np.log(y / self.base.predict(x))
        params = {"objective": "huber", "alpha": 0.02, "learning_rate": self.lr,
                  "num_leaves": self.leaves, "min_data_in_leaf": self.min_rows,
                  "min_data_in_bin": 1, "num_threads": 1, "seed": seed, "verbosity": -1,
                  "deterministic": True, "force_row_wise": True}
        data = lightgbm.Dataset(np.asarray(x, np.float64), residual, params={"verbosity": -1})
        self.booster = lightgbm.train(params, data, num_boost_round=self.trees)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        return self.base.predict(x) * np.exp(self.booster.predict(x))

    def state(self) -> dict[str, Any]:
        return {"trees": self.trees, "lr": self.lr, "leaves": self.leaves,
                "min_rows": self.min_rows, "huber": self.huber, "base": self.base.state(),
                "booster": self.booster.model_to_string()}

    @classmethod
    def from_state(cls, state: dict[str, Any], in_dim: int | None = None) -> CostGBDTLatencyModel:
        import lightgbm

        keys = ("trees", "lr", "leaves", "min_rows", "huber")
        model = cls(**{k: state[k] for k in keys})
        model.base = CostLatencyModel.from_state(state["base"])
        model.booster = lightgbm.Booster(model_str=state["booster"])
        return model
