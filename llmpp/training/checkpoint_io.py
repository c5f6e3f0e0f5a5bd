"""Checkpoints written like every other artifact: temp file + fsync + rename.

Lightning's own writer already renames a finished temp file into place, but it does not
sync it, and when the write fails (a full disk, a quota) its error names no file, so the
stage's one-line error could not say what was not written. This writer syncs the file
and its directory before and after the rename (``llmpp.utils.io.atomic_open``), and
its failures name the checkpoint. Either way the last good checkpoint is kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from llmpp.utils.io import write_torch


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's ``TorchCheckpointIO`` with temp file + fsync + rename for local paths."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or "://" in str(path):  # remote: Lightning's own way
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        write_torch(Path(path), checkpoint)
