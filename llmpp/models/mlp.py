"""HAT's predictor network: the MLP behind both the latency predictor and LLM-Distill-PP.

HAT's latency predictor is a first fully connected layer from the features to
``hidden_dim`` units, then ``hidden_layers`` more layers of ``hidden_dim`` units
(HAT: 3 x 400), ReLU after each, and one linear output; the paper reuses the same
design for LLM-Distill-PP. It lives here, below both users, so the hardware package
and the distillation package share one definition without importing each other.
"""

from __future__ import annotations

from torch import nn


def build_mlp(in_dim: int, hidden_dim: int, hidden_layers: int) -> nn.Sequential:
    """HAT's predictor: a first Linear + ReLU, ``hidden_layers`` x (Linear + ReLU), Linear to 1.

    HAT counts the first layer apart from its ``hidden-layer-num`` hidden layers, so
    ``hidden_layers=3`` means four ReLU layers in all (llmpp before issue 12 built three).
    """
    layers: list[nn.Module] = [nn.Linear(in_dim, hidden_dim), nn.ReLU()]
    for _ in range(hidden_layers):
        layers += [nn.Linear(hidden_dim, hidden_dim), nn.ReLU()]
    layers.append(nn.Linear(hidden_dim, 1))
    return nn.Sequential(*layers)


def parameter_count(in_dim: int, hidden_dim: int, hidden_layers: int) -> int:
    """Weights + biases of ``build_mlp``'s network, by formula (what tests compare against)."""
    first = (in_dim + 1) * hidden_dim
    hidden = hidden_layers * (hidden_dim + 1) * hidden_dim
    return first + hidden + hidden_dim + 1
