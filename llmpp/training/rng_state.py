"""The random state of training, saved in every checkpoint and restored on resume.

Lightning restores weights, optimizer and loop progress but not the random number
generators, so after a resume dropout draws other masks than the uninterrupted run
would have: the weights part ways although every batch is the same. This callback
stores the torch (CPU and CUDA), NumPy and Python states in each checkpoint it is part
of and puts them back before the next training batch.

When to put them back matters, because creating a DataLoader iterator draws from
torch's generator. A resumed run creates its training iterator before its first batch:
after a checkpoint taken inside an epoch the uninterrupted run drew nothing between
that batch and the next, so the state is restored at the next batch's start (after the
resumed run's extra draw). After the last batch of an epoch the uninterrupted run drew
for the next epoch's iterator too, so the state is restored when the checkpoint is
loaded, before the resumed run creates that iterator.
"""

from __future__ import annotations

import random
from typing import Any

import lightning as L
import numpy as np
import torch


def capture() -> dict[str, Any]:
    """The current states of torch (CPU, CUDA when in use), NumPy and Python."""
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore(state: dict[str, Any]) -> None:
    """Put back what ``capture`` returned."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class TrainingRngState(L.Callback):
    """Save the random state in checkpoints; restore it where the uninterrupted run had it."""

    def __init__(self) -> None:
        self._trainer: L.Trainer | None = None
        self._pending: dict[str, Any] | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._trainer = trainer

    def state_dict(self) -> dict[str, Any]:
        return {"rng": capture(), "epoch_done": self._epoch_done()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "rng" not in state_dict:
            return
        if state_dict.get("epoch_done"):
            restore(state_dict["rng"])
        else:
            self._pending = state_dict["rng"]

    def on_train_batch_start(self, *args: Any, **kwargs: Any) -> None:
        if self._pending is not None:
            restore(self._pending)
            self._pending = None

    def _epoch_done(self) -> bool:
        # Whether the last training batch so far ended its epoch (also for a checkpoint
        # taken by validation after that batch); after fit nothing is left to train.
        trainer = self._trainer
        if trainer is None:
            return True
        return bool(trainer.fit_loop.epoch_loop.batch_progress.is_last_batch)
