"""Fit a ``DistillRegressor`` on a teacher's labels, in one of two regimes.

* llmpp's default (``steps: null``): epochs over the training rows with early
  stopping on a held-out slice; the weights of the best validation epoch are kept
  in memory and restored at the end. Fast and robust to the learning rate.
* the paper's (``steps: 5000``, HAT's and the authors' trainer): exactly ``steps``
  Adam updates, each on ``batch_size`` rows drawn afresh without replacement, no
  early stopping, the last weights kept.

The held-out slice is drawn per *architecture* (all labels of one architecture stay
on one side), so repeated teacher samples cannot leak into validation; in the
step regime it only measures (the paper trains on every label, which
``val_fraction`` close to 0 approaches).
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
from torch.utils.data import DataLoader, Sampler, TensorDataset

from llmpp.distill.model import DistillRegressor
from llmpp.errors import ConfigError
from llmpp.metrics.agreement import kendall_tau, mae
from llmpp.metrics.ranking import constant_scores, constant_warning
from llmpp.tracking.progress import progress_callback

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Optimisation settings of Distill-PP (the ``regressor`` config block).

    No field has a default: the values, and what each means, are ``regressor:`` in
    ``conf/steps/distill.yaml`` (written once, there); ``seed`` is the stage's.
    """

    hidden_dim: int
    hidden_layers: int
    lr: float
    weight_decay: float
    batch_size: int
    max_epochs: int
    patience: int  # epochs without a better held-out loss before stopping
    val_fraction: float
    progress_bar: bool
    threads: int  # intra-op threads while training
    steps: int | None  # exact Adam steps on fresh batches (None: epochs, early stopping)
    standardise: bool  # train on standardised targets (False: raw scores, as the paper)
    seed: int

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
        raise ConfigError(f"regressor.val_fraction={val_fraction} must be between 0 and 1")
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


class FreshBatches(Sampler[list[int]]):
    """``steps`` batches of ``batch`` distinct row indices each, drawn anew every step.

    This is how HAT's and the authors' predictor trainers sample (a fresh
    ``random.sample`` per step), not a shuffled pass over the data.
    """

    def __init__(self, n: int, batch: int, steps: int, seed: int) -> None:
        self.n, self.batch, self.steps, self.seed = n, min(batch, n), steps, seed

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed)
        for _ in range(self.steps):
            yield torch.randperm(self.n, generator=generator)[: self.batch].tolist()


def _step_loader(x: np.ndarray, y: np.ndarray, config: TrainConfig) -> DataLoader:
    data = TensorDataset(
        torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    )
    sampler = FreshBatches(len(data), config.batch_size, int(config.steps), config.seed)
    return DataLoader(data, batch_sampler=sampler)


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
    if config.steps is not None:
        # One pass over FreshBatches is exactly `steps` updates; no validation loop.
        limits: dict[str, Any] = {"max_epochs": 1, "max_steps": int(config.steps)}
        limits["limit_val_batches"] = 0
    else:
        limits = {"max_epochs": config.max_epochs}
    if config.progress_bar:  # a bar on a terminal, a few status lines in a log file
        callbacks = [*callbacks, progress_callback()]
    return L.Trainer(
        accelerator="cpu",
        devices=1,
        **limits,
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
    """Train on ``features -> targets``; returns the trained module and its metrics."""
    if config.steps is not None and int(config.steps) < 1:
        raise ConfigError(f"distill.steps={config.steps} must be a positive number of steps")
    if constant_scores(targets):  # the run goes on, but the user must know it cannot rank
        log.warning(constant_warning("distill: the teacher's labels", len(targets)))
    train_idx, val_idx = split_by_group(groups, config.val_fraction, config.seed)
    x_train, y_train = features[train_idx], targets[train_idx]
    torch.manual_seed(config.seed)
    mean, std = (float(np.mean(y_train)), float(np.std(y_train)) or 1.0)
    module = DistillRegressor(
        in_dim=features.shape[1],
        hidden_dim=config.hidden_dim,
        hidden_layers=config.hidden_layers,
        lr=config.lr,
        weight_decay=config.weight_decay,
        target_mean=mean if config.standardise else 0.0,
        target_std=std if config.standardise else 1.0,
    )
    if config.steps is not None:
        keep = None
        loaders = (_step_loader(x_train, y_train, config),)
        trainer = _trainer(config, [])
    else:
        keep = KeepBest()
        stop = EarlyStopping(monitor="val_loss", patience=config.patience, mode="min")
        loaders = (
            _loader(x_train, y_train, config.batch_size, True, config.seed),
            _loader(features[val_idx], targets[val_idx], 65536, False, config.seed),
        )
        trainer = _trainer(config, [keep, stop])
    _fit(trainer, module, loaders, config.threads)
    if keep is not None and keep.state is not None:
        module.load_state_dict(keep.state)
    module.eval()
    metrics = _metrics(module, features, targets, train_idx, val_idx)
    metrics.update(
        epochs=trainer.current_epoch,
        best_epoch=keep.epoch if keep is not None else trainer.current_epoch,
        steps=int(trainer.global_step),
    )
    return module, metrics


def _fit(trainer: L.Trainer, module: DistillRegressor, loaders: tuple, threads: int) -> None:
    """``trainer.fit`` with ``threads`` intra-op threads and the small-data warnings muted."""
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    try:
        with warnings.catch_warnings():
            # Tiny in-memory tensors: worker processes would only add start-up time.
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=".*number of training batches.*")
            # The step regime has no validation loop on purpose.
            warnings.filterwarnings("ignore", message=".*no `val_dataloader`.*")
            trainer.fit(module, *loaders)
    finally:
        torch.set_num_threads(previous)


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
