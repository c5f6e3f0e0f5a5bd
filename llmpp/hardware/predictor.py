"""Latency regressors and the predictor that serves one for a search.

Models, chosen by measured held-out error rather than by habit:

* ``linear``: least squares on the analytic features, weighted to minimise
  *relative* error (each row divided by its latency), with a small ridge on
  standardised features. Latency is nearly additive in those costs, so a few dozen
  measurements pin it down.
* ``mlp``: llmpp's fast take on HAT's latency predictor — an MLP (3 layers of 400
  units) on the space's normalised 10-dim features, target standardised, trained
  full-batch with Adam on the mean squared error.
* ``hat_mlp``: HAT's own network and recipe (``llmpp.hardware.hat_predictor``).
* ``costs``, ``costs_gbdt``, ``mlp_ensemble``, ``gbdt``: models for a large measured
  table such as HAT's released datasets (``llmpp.hardware.costs``,
  ``llmpp.hardware.tabular``), on HAT's raw features.

``select_model`` cross-validates the candidates on the training split and keeps
the one with the lowest MAPE (``kind: auto``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from llmpp.errors import ConfigError
from llmpp.hardware.costs import CostGBDTLatencyModel, CostLatencyModel
from llmpp.hardware.hat_predictor import HATLatencyModel, net_outputs
from llmpp.hardware.measure import torch_threads
from llmpp.hardware.tabular import GBDTLatencyModel, MLPEnsembleLatencyModel
from llmpp.metrics.agreement import kendall_tau


def mape(pred: np.ndarray, gold: np.ndarray) -> float:
    """Mean absolute percentage error, in percent."""
    pred, gold = np.asarray(pred, np.float64), np.asarray(gold, np.float64)
    return float(np.mean(np.abs(pred - gold) / np.abs(gold)) * 100.0)


def score(pred: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """MAPE (%) and Kendall tau-b of predictions against measurements."""
    return {"mape": mape(pred, gold), "kendall_tau": float(kendall_tau(pred, gold))}


class LinearLatencyModel:
    """Relative-error least squares on standardised features (see the module docstring)."""

    kind = "linear"
    features = "analytic"

    def __init__(self, ridge: float = 1e-4) -> None:
        self.ridge = float(ridge)
        self.mean = self.std = self.coef = None
        self.intercept = 0.0

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int = 0) -> LinearLatencyModel:
        self.mean = x.mean(axis=0)
        self.std = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        z = np.hstack([np.ones((len(x), 1)), (x - self.mean) / self.std])
        w = 1.0 / y  # minimise sum(((pred - y) / y)^2): relative error
        a, t = z * w[:, None], y * w
        penalty = self.ridge * len(y) * np.diag([0.0] + [1.0] * x.shape[1])
        solution = np.linalg.solve(a.T @ a + penalty, a.T @ t)
        self.intercept, self.coef = float(solution[0]), solution[1:]
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.intercept + ((x - self.mean) / self.std) @ self.coef

    def state(self) -> dict[str, Any]:
        return {"ridge": self.ridge, "mean": self.mean.tolist(), "std": self.std.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> LinearLatencyModel:
        model = cls(ridge=state["ridge"])
        model.mean, model.std = np.asarray(state["mean"]), np.asarray(state["std"])
        model.coef, model.intercept = np.asarray(state["coef"]), float(state["intercept"])
        return model


def _mlp(in_dim: int, hidden: int, layers: int) -> nn.Sequential:
    blocks: list[nn.Module] = []
    for i in range(layers):
        blocks += [nn.Linear(in_dim if i == 0 else hidden, hidden), nn.ReLU()]
    return nn.Sequential(*blocks, nn.Linear(hidden, 1))


class MLPLatencyModel:
    """HAT's latency MLP on normalised features, target standardised."""

    kind = "mlp"
    features = "hat"

    def __init__(self, hidden: int = 400, layers: int = 3, steps: int = 1000,
                 lr: float = 1e-3) -> None:
        self.hidden, self.layers, self.steps, self.lr = int(hidden), int(layers), int(steps), lr
        self.net: nn.Sequential | None = None
        self.y_mean, self.y_std = 0.0, 1.0

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int = 0) -> MLPLatencyModel:
        # One thread: a 400-wide MLP on a few hundred rows gains nothing from more, and
        # on a loaded machine extra threads wait on each other (measured 100x slower).
        with torch_threads(1):
            return self._fit(x, y, seed)

    def _fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> MLPLatencyModel:
        torch.manual_seed(seed)
        self.y_mean, self.y_std = float(y.mean()), float(y.std() or 1.0)
        self.net = _mlp(x.shape[1], self.hidden, self.layers)
        xs = torch.as_tensor(x, dtype=torch.float32)
        ys = torch.as_tensor((y - self.y_mean) / self.y_std, dtype=torch.float32)[:, None]
        optimiser = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        for _ in range(self.steps):  # full batch: a latency dataset is a few hundred rows
            optimiser.zero_grad()
            loss = nn.functional.mse_loss(self.net(xs), ys)
            loss.backward()
            optimiser.step()
        self.net.eval()
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return net_outputs(self.net, x) * self.y_std + self.y_mean

    def state(self) -> dict[str, Any]:
        return {"hidden": self.hidden, "layers": self.layers, "steps": self.steps, "lr": self.lr,
                "y_mean": self.y_mean, "y_std": self.y_std,
                "state_dict": {k: v.detach().clone() for k, v in self.net.state_dict().items()}}

    @classmethod
    def from_state(cls, state: dict[str, Any], in_dim: int) -> MLPLatencyModel:
        model = cls(state["hidden"], state["layers"], state["steps"], state["lr"])
        model.y_mean, model.y_std = float(state["y_mean"]), float(state["y_std"])
        model.net = _mlp(in_dim, model.hidden, model.layers)
        model.net.load_state_dict(state["state_dict"])
        model.net.eval()
        return model


MODELS = {"linear": LinearLatencyModel, "mlp": MLPLatencyModel, "hat_mlp": HATLatencyModel,
          "mlp_ensemble": MLPEnsembleLatencyModel, "gbdt": GBDTLatencyModel,
          "costs": CostLatencyModel, "costs_gbdt": CostGBDTLatencyModel}
# What ``kind: auto`` chooses among: HAT's recipe (5,000 steps per fit) is asked for
# by name (``fit.model=hat_mlp``), not cross-validated on every run.
AUTO_MODELS = ("linear", "mlp")


def new_model(kind: str, options: dict[str, Any] | None = None) -> Any:
    """An unfitted model of ``kind`` (a key of ``MODELS``) with its ``options``."""
    if kind not in MODELS:
        raise ConfigError(f"unknown latency model {kind!r}; use one of {sorted(MODELS)} or auto")
    try:
        return MODELS[kind](**(options or {}))
    except TypeError as exc:
        raise ConfigError(f"latency model {kind}: {exc}") from None


@dataclass
class Selection:
    """The chosen model kind and every candidate's cross-validated scores."""

    kind: str
    cv: dict[str, dict[str, float]]


def cross_validate(kind: str, options: dict[str, Any] | None, x: np.ndarray, y: np.ndarray,
                   folds: int, seed: int) -> dict[str, float]:
    """K-fold MAPE / tau of a model kind on ``(x, y)``."""
    index = np.random.default_rng(seed).permutation(len(y))
    preds = np.zeros(len(y))
    for part in np.array_split(index, folds):
        train = np.setdiff1d(index, part)
        preds[part] = new_model(kind, options).fit(x[train], y[train], seed).predict(x[part])
    return score(preds, y)


def select_model(candidates: Sequence[str], inputs: dict[str, np.ndarray], y: np.ndarray,
                 options: dict[str, dict[str, Any]], *, folds: int = 3,
                 seed: int = 0) -> Selection:
    """Cross-validate ``candidates`` (each on its own features) and keep the lowest MAPE."""
    if len(y) < 2 * folds:
        raise ConfigError(f"{len(y)} training latencies are too few to choose a model; "
                          "raise n_archs or set fit.model=linear")
    cv = {k: cross_validate(k, options.get(k), inputs[k], y, folds, seed) for k in candidates}
    return Selection(kind=min(cv, key=lambda k: cv[k]["mape"]), cv=cv)
