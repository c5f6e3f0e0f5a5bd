"""A kill in the middle of a stage, in-process: what the resume tests interrupt runs with.

``SimulatedKill`` stands for the process dying (Lightning re-raises it after tearing the
fit down, unlike ``KeyboardInterrupt``, which it turns into ``exit(1)``). ``KillOnce``
raises it once: the marker file it leaves says the kill happened, so the same saved
config, resumed, trains through.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L


class SimulatedKill(RuntimeError):
    """The stage was "killed" here (raised by tests, never by product code)."""


class KillOnce(L.Callback):
    """Raise ``SimulatedKill`` after the training batch that reaches ``at_step``, once.

    Args:
        at_step: the global step after which the first run dies.
        marker: a file created when the kill happens; while it exists, nothing is raised.
    """

    def __init__(self, at_step: int, marker: str) -> None:
        self.at_step = int(at_step)
        self.marker = Path(marker)

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any, **kwargs: Any) -> None:
        if trainer.global_step >= self.at_step and not self.marker.exists():
            self.marker.touch()
            raise SimulatedKill(f"killed at step {trainer.global_step}")
