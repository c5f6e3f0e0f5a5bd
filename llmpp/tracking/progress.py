"""Training progress a person can read: a bar on a terminal, a status line in a log file."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from lightning.pytorch.callbacks import ProgressBar, TQDMProgressBar

log = logging.getLogger(__name__)


class StatusLines(ProgressBar):
    """One log line every ``every_seconds`` (and at the end) instead of a redrawn bar.

    Redirected to a file, a progress bar is thousands of carriage-return redraws; a
    periodic line says the same in a few lines.
    """

    def __init__(self, every_seconds: float = 30.0) -> None:
        super().__init__()
        self.every_seconds = float(every_seconds)
        self._enabled = True
        self._last = 0.0

    @property
    def is_enabled(self) -> bool:
        return self._enabled

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def _status(self, trainer: Any, force: bool = False) -> None:
        now = time.monotonic()
        if not self._enabled or (not force and now - self._last < self.every_seconds):
            return
        self._last = now
        metrics = self.get_metrics(trainer, trainer.lightning_module)
        shown = ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in metrics.items() if k != "v_num"
        )
        total = trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else "?"
        log.info("step %d/%s%s", trainer.global_step, total, f": {shown}" if shown else "")

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self._last = time.monotonic()

    def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any, **kwargs: Any) -> None:
        self._status(trainer)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self._status(trainer, force=True)


def progress_callback(every_seconds: float = 30.0, force_bar: bool = False) -> ProgressBar:
    """Lightning's progress bar when stderr is a terminal (or ``force_bar``), else status lines."""
    if force_bar or sys.stderr.isatty():
        return TQDMProgressBar()
    return StatusLines(every_seconds)
