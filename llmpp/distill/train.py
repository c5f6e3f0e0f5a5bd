"""Fit a ``DistillRegressor`` with early stopping on a held-out slice of the labels.

The held-out slice is drawn per *architecture* (all labels of one architecture stay
on one side), so repeated teacher samples cannot leak into validation. The weights
of the best validation epoch are kept in memory and restored at the end.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping
from torch.utils.data import DataLoader, TensorDataset

from llmpp.distill.model import DistillRegressor
from llmpp.errors import ConfigError
from llmpp.evaluation.metrics import kendall_tau, mae

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Optimisation settings of Distill-PP (the ``distill`` config block)."""

    hidden_dim: int = 400
    hidden_layers: int = 3
    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 128
    max_epochs: int = 200
    patience: int = 20
    val_fraction: float = 0.1
    progress_bar: bool = True
    # Intra-op threads while training; 1 avoids oversubscribing a shared machine
    # (measured here: a 400-wide MLP step is >10x slower with 2 threads under load).
    threads: int = 1
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class KeepBest(Callback):
    """Remember the state dict of the epoch with the lowest ``val_loss``."""

    def __init__(self) -> None:
        self.best = float("inf")
        self.state: dict[str, torch.Tensor] | None = None
        self.epoch = -1

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        loss = trainer.callback_metrics.get("val_loss")
        if trainer.sanity_checking or loss is None or float(loss) >= self.best:
            return
        self.best, self.epoch = float(loss), trainer.current_epoch
        self.state = copy.deepcopy(module.state_dict())


def split_by_group(
    groups: Sequence[str], val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of (train, held-out), holding out ``val_fraction`` of the groups."""
    if not 0 < val_fraction < 1:
        raise ConfigError(f"distill.val_fraction={val_fraction} must be between 0 and 1")
    unique = sorted(set(groups))
    if len(unique) < 4:
        raise ConfigError(
            f"only {len(unique)} distinct labelled architectures; distillation needs at least 4 "
            "(label a larger pool)"
        )
    rng = np.random.default_rng(seed)
    n_val = max(1, int(round(val_fraction * len(unique))))
    held = set(rng.permutation(unique)[:n_val].tolist())
    mask = np.asarray([g in held for g in groups])
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def _loader(x: np.ndarray, y: np.ndarray, batch: int, shuffle: bool, seed: int) -> DataLoader:
    data = TensorDataset(
        torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    )
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(data, batch_size=batch, shuffle=shuffle, generator=generator)


def _scores(module: DistillRegressor, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return module(torch.as_tensor(x, dtype=torch.float32)).double().numpy()


def _trainer(config: TrainConfig, callbacks: list[Callback]) -> L.Trainer:
    """A CPU trainer with no logger or checkpoint files (the stage writes its own)."""
    return L.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=config.max_epochs,
        callbacks=callbacks,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=config.progress_bar,
        num_sanity_val_steps=0,
        deterministic=True,
    )


def train_regressor(
    features: np.ndarray, targets: np.ndarray, groups: Sequence[str], config: TrainConfig
) -> tuple[DistillRegressor, dict[str, Any]]:
    """Train on ``features -> targets``; returns the best module and its metrics."""
    train_idx, val_idx = split_by_group(groups, config.val_fraction, config.seed)
    x_train, y_train = features[train_idx], targets[train_idx]
    torch.manual_seed(config.seed)
    module = DistillRegressor(
        in_dim=features.shape[1],
        hidden_dim=config.hidden_dim,
        hidden_layers=config.hidden_layers,
        lr=config.lr,
        weight_decay=config.weight_decay,
        target_mean=float(np.mean(y_train)),
        target_std=float(np.std(y_train)) or 1.0,
    )
    keep = KeepBest()
    stop = EarlyStopping(monitor="val_loss", patience=config.patience, mode="min")
    trainer = _trainer(config, [keep, stop])
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, int(config.threads)))
    try:
        with warnings.catch_warnings():
            # Tiny in-memory tensors: worker processes would only add start-up time.
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=".*number of training batches.*")
            trainer.fit(
                module,
                _loader(x_train, y_train, config.batch_size, True, config.seed),
                _loader(features[val_idx], targets[val_idx], 65536, False, config.seed),
            )
    finally:
        torch.set_num_threads(threads)
    if keep.state is not None:
        module.load_state_dict(keep.state)
    module.eval()
    metrics = _metrics(module, features, targets, train_idx, val_idx)
    metrics.update(epochs=trainer.current_epoch, best_epoch=keep.epoch)
    return module, metrics


def _metrics(
    module: DistillRegressor,
    x: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, idx in (("train", train_idx), ("heldout", val_idx)):
        pred = _scores(module, x[idx])
        out[name] = {
            "n": int(len(idx)),
            "mae": mae(pred, y[idx]),
            "kendall": kendall_tau(pred, y[idx]),
        }
    return out
