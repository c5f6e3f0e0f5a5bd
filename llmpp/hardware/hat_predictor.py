"""HAT's latency predictor, trained as HAT trains it (``fit.model=hat_mlp``).

HAT's network is the one LLM-Distill-PP reuses (``llmpp.models.mlp.build_mlp``:
a first layer, then three hidden layers of 400 units). HAT fits it on the space's
normalised 10 features with the latency divided by a fixed ``lat_norm`` (200 ms in
its GPU configs), for 5,000 Adam steps at learning rate 1e-5 on batches of 128
rows drawn afresh each step, and keeps the last weights. llmpp's own ``mlp`` model
(full-batch, standardised target, 1,000 steps at 1e-3) sits beside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from llmpp.hardware.measure import torch_threads
from llmpp.models.mlp import build_mlp


def net_outputs(net: nn.Module, x: np.ndarray) -> np.ndarray:
    """A fitted MLP's single output per row, in float64, on one thread."""
    with torch.inference_mode(), torch_threads(1):
        return net(torch.as_tensor(x, dtype=torch.float32))[:, 0].double().numpy()


class HATLatencyModel:
    """HAT's MLP and training recipe (see the module docstring).

    Args:
        hidden: units per layer (HAT: 400).
        layers: hidden layers after the first (HAT's ``hidden-layer-num``: 3).
        steps: Adam steps (HAT: 5,000).
        batch: rows per step (HAT: 128), drawn without replacement each step.
        lr: Adam learning rate (HAT: 1e-5).
        lat_norm: the latency scale the target is divided by (None = the training
            set's largest latency, since HAT's 200 ms fits only its own GPU).
    """

    kind = "hat_mlp"
    features = "hat"

    def __init__(
        self,
        hidden: int = 400,
        layers: int = 3,
        steps: int = 5000,
        batch: int = 128,
        lr: float = 1e-5,
        lat_norm: float | None = None,
    ) -> None:
        self.hidden, self.layers, self.steps = int(hidden), int(layers), int(steps)
        self.batch, self.lr = int(batch), float(lr)
        self.lat_norm = None if lat_norm is None else float(lat_norm)
        self.net: nn.Sequential | None = None

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int = 0) -> HATLatencyModel:
        with torch_threads(1):  # a 400-wide MLP gains nothing from more threads
            torch.manual_seed(seed)
            generator = torch.Generator().manual_seed(seed)
            if self.lat_norm is None:
                self.lat_norm = float(np.max(y)) or 1.0
            self.net = build_mlp(x.shape[1], self.hidden, self.layers)
            xs = torch.as_tensor(x, dtype=torch.float32)
            ys = torch.as_tensor(y / self.lat_norm, dtype=torch.float32)
            optimiser = torch.optim.Adam(self.net.parameters(), lr=self.lr)
            size = min(self.batch, len(xs))
            for _ in range(self.steps):
                rows = torch.randperm(len(xs), generator=generator)[:size]
                optimiser.zero_grad()
                loss = nn.functional.mse_loss(self.net(xs[rows])[:, 0], ys[rows])
                loss.backward()
                optimiser.step()
            self.net.eval()
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return net_outputs(self.net, x) * self.lat_norm

    def state(self) -> dict[str, Any]:
        return {
            "hidden": self.hidden,
            "layers": self.layers,
            "steps": self.steps,
            "batch": self.batch,
            "lr": self.lr,
            "lat_norm": self.lat_norm,
            "state_dict": {k: v.detach().clone() for k, v in self.net.state_dict().items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], in_dim: int) -> HATLatencyModel:
        keys = ("hidden", "layers", "steps", "batch", "lr", "lat_norm")
        model = cls(**{k: state[k] for k in keys})
        model.net = build_mlp(in_dim, model.hidden, model.layers)
        model.net.load_state_dict(state["state_dict"])
        model.net.eval()
        return model

