"""HAT's released latency predictors, evaluated by llmpp (``model: released``).

HAT's ``.pt`` files are bare state dicts of a small MLP: ``first_layer`` (10 -> 400),
three ``layers`` (400 -> 400), ``predict`` (400 -> 1), ReLU after every hidden layer.
Its input is HAT's 10 raw features divided element-wise by the ``feature-norm`` of
the predictor's config, and its output times ``lat-norm`` is the latency in ms. The
network below is llmpp's own, with parameter names that match the release, so
``load_state_dict`` is strict: a file of another shape is refused, not half-loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from llmpp.errors import CorruptFileError
from llmpp.hardware.measure import torch_threads
from llmpp.metrics.efficiency import attended_encoder_layers
from llmpp.space.architecture import Architecture


def hat_raw_features(archs: Sequence[Architecture]) -> np.ndarray:
    """HAT's 10 features of each architecture, unnormalised (the CSVs' columns).

    Per-layer values are averaged over the active layers; the arbitrary
    encoder-decoder attention counts the encoder layers it reads (-1 -> 1, k -> k+1).
    """
    rows = [
        [
            a.encoder_embed_dim,
            a.encoder_layer_num,
            np.mean(a.encoder_ffn_embed_dim),
            np.mean(a.encoder_self_attention_heads),
            a.decoder_embed_dim,
            a.decoder_layer_num,
            np.mean(a.decoder_ffn_embed_dim),
            np.mean(a.decoder_self_attention_heads),
            np.mean(a.decoder_ende_attention_heads),
            np.mean([attended_encoder_layers(x) for x in a.decoder_arbitrary_ende_attn]),
        ]
        for a in archs
    ]
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), 10)


class HATNetwork(nn.Module):
    """HAT's predictor network: first layer, ``layers`` hidden layers, one output."""

    def __init__(self, in_dim: int = 10, hidden: int = 400, layers: int = 3) -> None:
        super().__init__()
        self.first_layer = nn.Linear(in_dim, hidden)
        self.layers = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers))
        self.predict = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.first_layer(x))
        for layer in self.layers:
            x = torch.relu(layer(x))
        return self.predict(x)


class HATReleasedModel:
    """A released HAT predictor with its feature and latency norms (a latency model kind).

    Args:
        state_dict: the ``.pt`` file's tensors.
        feature_norm: the config's ``feature-norm`` (10 values).
        lat_norm: the config's ``lat-norm`` (ms).
        hidden: the config's ``hidden-dim``.
        layers: the config's ``hidden-layer-num``.
    """

    kind = "released"
    features = "hat_raw"

    def __init__(self, state_dict: dict[str, torch.Tensor], feature_norm: Sequence[float],
                 lat_norm: float, hidden: int = 400, layers: int = 3) -> None:
        self.feature_norm = np.asarray(feature_norm, dtype=np.float64)
        self.lat_norm, self.hidden, self.layers = float(lat_norm), int(hidden), int(layers)
        self.net = HATNetwork(len(self.feature_norm), self.hidden, self.layers)
        try:
            self.net.load_state_dict(state_dict, strict=True)
        except (RuntimeError, TypeError, AttributeError) as exc:
            reason = " ".join(str(exc).split())[:90]
            raise CorruptFileError(
                f"HAT predictor weights do not fit HAT's network ({reason})"
            ) from None
        self.net.eval()

    @classmethod
    def from_config(cls, state_dict: dict[str, torch.Tensor],
                    config: dict[str, Any]) -> HATReleasedModel:
        """Build from HAT's predictor config (``feature-norm``, ``lat-norm``, shapes)."""
        try:
            return cls(state_dict, config["feature-norm"], config["lat-norm"],
                       config.get("hidden-dim", 400), config.get("hidden-layer-num", 3))
        except KeyError as exc:
            raise CorruptFileError(f"HAT's predictor config lacks {exc}") from None

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int = 0) -> HATReleasedModel:
        return self  # trained by HAT; nothing to fit

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Latency (ms) of rows of HAT's raw features."""
        with torch.inference_mode(), torch_threads(1):
            z = torch.as_tensor(np.asarray(x) / self.feature_norm, dtype=torch.float32)
            return self.net(z)[:, 0].double().numpy() * self.lat_norm

    def state(self) -> dict[str, Any]:
        return {"feature_norm": self.feature_norm.tolist(), "lat_norm": self.lat_norm,
                "hidden": self.hidden, "layers": self.layers,
                "state_dict": {k: v.detach().clone() for k, v in self.net.state_dict().items()}}

    @classmethod
    def from_state(cls, state: dict[str, Any], in_dim: int | None = None) -> HATReleasedModel:
        return cls(state["state_dict"], state["feature_norm"], state["lat_norm"],
                   state["hidden"], state["layers"])
