"""Latency models for a table of measured architectures (HAT's released datasets).

Both read HAT's 10 raw features (the MLPs standardise them) and fit the *logarithm*
of the latency: latency spans an order of magnitude across a space and its errors are
relative (MAPE), so a log target weighs a 20 ms and a 200 ms model alike.

* ``mlp_ensemble``: a few small MLPs (different seeds) trained full-batch with AdamW
  (weight decay) and a cosine schedule; their mean log-latency is the prediction.
  Averaging removes most of one network's seed-to-seed variance.
* ``gbdt``: LightGBM gradient-boosted trees (``lightgbm``), optionally monotone in
  every feature (a wider or deeper model is never faster on the same device).

docs/BENCHMARKS.md ("Latency predictors on HAT's measured data") compares them with
HAT's released predictors and says which one ``auto`` tends to choose.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from llmpp.hardware.measure import torch_threads


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = x.mean(axis=0), x.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)


def _net(in_dim: int, hidden: int, layers: int) -> nn.Sequential:
    blocks: list[nn.Module] = []
    for i in range(layers):
        blocks += [nn.Linear(in_dim if i == 0 else hidden, hidden), nn.SiLU()]
    return nn.Sequential(*blocks, nn.Linear(hidden, 1))


class MLPEnsembleLatencyModel:
    """Mean of ``members`` MLPs on standardised features and log latency.

    Args:
        members: networks averaged (each its own seed).
        hidden: units per hidden layer.
        layers: hidden layers.
        steps: full-batch AdamW steps (cosine-decayed learning rate).
        lr: peak learning rate.
        weight_decay: AdamW's decoupled weight decay.
    """

    kind = "mlp_ensemble"
    features = "hat_raw"

    def __init__(self, members: int = 5, hidden: int = 64, layers: int = 3, steps: int = 1500,
                 lr: float = 3e-3, weight_decay: float = 1e-4) -> None:
        self.members, self.hidden, self.layers = int(members), int(hidden), int(layers)
        self.steps, self.lr, self.weight_decay = int(steps), float(lr), float(weight_decay)
        self.x_mean = self.x_std = None
        self.y_mean, self.y_std = 0.0, 1.0
        self.nets: list[nn.Sequential] = []

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int = 0) -> MLPEnsembleLatencyModel:
        self.x_mean, self.x_std = _standardise(x)
        log_y = np.log(y)
        self.y_mean, self.y_std = float(log_y.mean()), float(log_y.std() or 1.0)
        xs = torch.as_tensor((x - self.x_mean) / self.x_std, dtype=torch.float32)
        ys = torch.as_tensor((log_y - self.y_mean) / self.y_std, dtype=torch.float32)[:, None]
        # One thread: small networks gain nothing from more on a shared machine.
        with torch_threads(1):
            self.nets = [self._train(xs, ys, seed * 1000 + m) for m in range(self.members)]
        return self

    def _train(self, xs: torch.Tensor, ys: torch.Tensor, seed: int) -> nn.Sequential:
        torch.manual_seed(seed)
        net = _net(xs.shape[1], self.hidden, self.layers)
        optimiser = torch.optim.AdamW(net.parameters(), lr=self.lr,
                                      weight_decay=self.weight_decay)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, self.steps)
        for _ in range(self.steps):
            optimiser.zero_grad()
            nn.functional.mse_loss(net(xs), ys).backward()
            optimiser.step()
            schedule.step()
        return net.eval()

    def predict(self, x: np.ndarray) -> np.ndarray:
        xs = torch.as_tensor((np.asarray(x) - self.x_mean) / self.x_std, dtype=torch.float32)
        with torch.inference_mode(), torch_threads(1):
            z = torch.stack([net(xs)[:, 0] for net in self.nets]).mean(0).double().numpy()
        return np.exp(z * self.y_std + self.y_mean)

    def state(self) -> dict[str, Any]:
        return {"members": self.members, "hidden": self.hidden, "layers": self.layers,
                "steps": self.steps, "lr": self.lr, "weight_decay": self.weight_decay,
                "x_mean": self.x_mean.tolist(), "x_std": self.x_std.tolist(),
                "y_mean": self.y_mean, "y_std": self.y_std,
                "nets": [{k: v.detach().clone() for k, v in n.state_dict().items()}
                         for n in self.nets]}

    @classmethod
    def from_state(cls, state: dict[str, Any], in_dim: int) -> MLPEnsembleLatencyModel:
        keys = ("members", "hidden", "layers", "steps", "lr", "weight_decay")
        model = cls(**{k: state[k] for k in keys})
        model.x_mean, model.x_std = np.asarray(state["x_mean"]), np.asarray(state["x_std"])
        model.y_mean, model.y_std = float(state["y_mean"]), float(state["y_std"])
        model.nets = []
        for weights in state["nets"]:
            net = _net(in_dim, model.hidden, model.layers)
            net.load_state_dict(weights)
            model.nets.append(net.eval())
        return model


class GBDTLatencyModel:
    """LightGBM on standardised features and log latency (see the module docstring).

    Args:
        trees: boosting rounds.
        lr: shrinkage per round.
        leaves: leaves per tree.
        min_rows: fewest training rows in a leaf.
        monotone: constrain the prediction to grow with every feature.
    """

    kind = "gbdt"
    features = "hat_raw"

    def __init__(self, trees: int = 800, lr: float = 0.03, leaves: int = 15,
                 min_rows: int = 10, monotone: bool = True) -> None:
        self.trees, self.lr, self.leaves = int(trees), float(lr), int(leaves)
        self.min_rows, self.monotone = int(min_rows), bool(monotone)
        self.booster: Any = None

    def _params(self, dim: int, seed: int) -> dict[str, Any]:
        params = {"objective": "regression", "learning_rate": self.lr,
                  "num_leaves": self.leaves, "min_data_in_leaf": self.min_rows,
                  "min_data_in_bin": 1, "num_threads": 1, "seed": seed, "verbosity": -1,
                  "deterministic": True, "force_row_wise": True}
        if self.monotone:
            params["monotone_constraints"] = [1] * dim
        return params

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int = 0) -> GBDTLatencyModel:
        import lightgbm  # imported on use: only this model kind needs it

        train = lightgbm.Dataset(np.asarray(x), np.log(y), params={"verbosity": -1})
        self.booster = lightgbm.train(self._params(x.shape[1], seed), train,
                                      num_boost_round=self.trees)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.exp(self.booster.predict(np.asarray(x, dtype=np.float64)))

    def state(self) -> dict[str, Any]:
        return {"trees": self.trees, "lr": self.lr, "leaves": self.leaves,
                "min_rows": self.min_rows, "monotone": self.monotone,
                "booster": self.booster.model_to_string()}

    @classmethod
    def from_state(cls, state: dict[str, Any], in_dim: int | None = None) -> GBDTLatencyModel:
        import lightgbm

        keys = ("trees", "lr", "leaves", "min_rows", "monotone")
        model = cls(**{k: state[k] for k in keys})
        model.booster = lightgbm.Booster(model_str=state["booster"])
        return model
