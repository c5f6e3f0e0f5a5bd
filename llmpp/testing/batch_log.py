"""A test-only callback: which batches a training run trained on, one JSON line each.

The preemption tests add it to a real ``llmpp supernet`` / ``llmpp retrain`` run
(``+callbacks.batch_log._target_=llmpp.testing.batch_log.BatchLog``) and compare the
lines of an interrupted-and-resumed run with those of an uninterrupted one. A batch is
named by a digest of its token ids, so the same pairs in the same order give the same
id in any process. ``delay_s`` slows each step down so that a signal sent from outside
lands mid-run even on a fast machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import lightning as L


def batch_id(batch: dict[str, Any]) -> str:
    """A digest of the batch's source and target token ids."""
    digest = hashlib.sha256()
    for key in ("src", "tgt_out"):
        digest.update(batch[key].detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


class BatchLog(L.Callback):
    """Append ``{"pid", "epoch", "step", "batch"}`` per trained batch to ``path``.

    Args:
        path: the JSON-lines file (appended to: a resumed run adds its lines).
        delay_s: seconds to sleep after each batch (gives an outside signal time to land).
    """

    def __init__(self, path: str, delay_s: float = 0.0) -> None:
        self.path = Path(path)
        self.delay_s = float(delay_s)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
        batch_idx: int,
    ) -> None:
        row = {"pid": os.getpid(), "epoch": int(trainer.current_epoch),
               "step": int(trainer.global_step), "batch": batch_id(batch)}
        with self.path.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        if self.delay_s:
            time.sleep(self.delay_s)


def read_batch_log(path: Path) -> list[dict[str, Any]]:
    """The rows a ``BatchLog`` wrote (none if the file does not exist yet)."""
    if not Path(path).is_file():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
