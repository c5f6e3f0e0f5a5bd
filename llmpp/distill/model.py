"""The Distill-PP regressor: an MLP from feature rows to a teacher's score.

Following HAT's latency predictor, whose design the paper reuses for
LLM-Distill-PP: a first fully connected layer from the features to ``hidden_dim``
units, then ``hidden_layers`` more layers of ``hidden_dim`` units (HAT: 3 x 400),
ReLU after each, and one linear output. With HAT's 10 features that is 486,001
parameters. Targets are standardised with the training labels' mean and std
(llmpp's default; the paper trains on raw BLEU, ``standardise=False``), which live
in the module as buffers so a checkpoint carries them; ``forward`` returns scores
in the teacher's units.
"""

from __future__ import annotations

import lightning as L
import torch
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


class DistillRegressor(L.LightningModule):
    """MSE on standardised targets; logs ``train_loss``, ``val_loss`` and ``val_mae``.

    Args:
        in_dim: feature width (10 for ``hat`` features).
        hidden_dim: units per hidden layer.
        hidden_layers: hidden layers after the first one (HAT's ``hidden-layer-num``).
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        target_mean: mean of the training targets (teacher units).
        target_std: std of the training targets (teacher units; 1 if constant).
    """

    def __init__(
        self,
        *,
        in_dim: int,
        hidden_dim: int = 400,
        hidden_layers: int = 3,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        target_mean: float = 0.0,
        target_std: float = 1.0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = build_mlp(in_dim, hidden_dim, hidden_layers)
        self.register_buffer("target_mean", torch.tensor(float(target_mean)))
        self.register_buffer("target_std", torch.tensor(float(target_std) or 1.0))

    def standardised(self, features: torch.Tensor) -> torch.Tensor:
        """The network's raw output (standardised units), shape ``(n,)``."""
        return self.net(features).squeeze(-1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Scores in the teacher's units, shape ``(n,)``."""
        return self.standardised(features) * self.target_std + self.target_mean

    def _loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        features, targets = batch
        z = (targets - self.target_mean) / self.target_std
        pred = self.standardised(features)
        loss = nn.functional.mse_loss(pred, z)
        mae = (pred - z).abs().mean() * self.target_std
        return loss, mae

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        loss, _ = self._loss(batch)
        self.log("train_loss", loss, prog_bar=True, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        loss, mae = self._loss(batch)
        self.log("val_loss", loss, prog_bar=True, on_epoch=True)
        self.log("val_mae", mae, prog_bar=True, on_epoch=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(
            self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
