"""The Distill-PP regressor: an MLP from feature rows to a teacher's score.

The network is HAT's latency predictor (``llmpp.models.mlp.build_mlp``), whose
design the paper reuses for LLM-Distill-PP: with HAT's 10 features and 3 x 400
hidden units that is 486,001 parameters. Targets are standardised with the training
labels' mean and std (llmpp's default; the paper trains on raw BLEU,
``standardise=False``), which live in the module as buffers so a checkpoint carries
them; ``forward`` returns scores in the teacher's units.
"""

from __future__ import annotations

import lightning as L
import torch
from torch import nn

from llmpp.models.mlp import build_mlp


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
