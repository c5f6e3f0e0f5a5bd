"""The random state of training, saved in every checkpoint and restored on resume.

Lightning restores weights, optimizer and loop progress but not the random number
generators, so after a resume dropout draws other masks than the uninterrupted run
would have: the weights part ways although every batch is the same. This callback
stores the torch (CPU and CUDA), NumPy and Python states in each checkpoint it is part
of and puts them back before the next training batch.

They are put back at the start of the next training batch, not when the checkpoint is
loaded: the resumed run creates its training iterator in between, and a DataLoader
without its own generator draws from torch's to do so (llmpp's loaders have their own,
``llmpp.data.datamodule``, so their iterators draw nothing from it at all).
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
        self._pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        return {"rng": capture()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict.get("rng")

    def on_train_batch_start(self, *args: Any, **kwargs: Any) -> None:
        if self._pending is not None:
            restore(self._pending)
            self._pending = None
