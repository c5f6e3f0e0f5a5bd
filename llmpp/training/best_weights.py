"""Which weights a retrained architecture is scored with: the last ones or the best.

HAT (fairseq) scores ``checkpoint_best.pt``: the weights of the validation with the
lowest validation loss, its training criterion (label-smoothed). ``score_checkpoint``:

* ``last`` — llmpp's option: the weights at the end of training;
* ``best`` — HAT's: a ``ModelCheckpoint`` monitoring ``BEST_METRIC`` keeps
  ``checkpoints/best.ckpt`` (its best score survives a resume, as Lightning saves the
  callback's state in ``last.ckpt``), and those weights are loaded before scoring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from llmpp.errors import ConfigError, DataNotFoundError

SCORE_CHECKPOINTS = ("last", "best")
# What TranslationModule.validation_step logs: the label-smoothed loss of the trained
# architecture (fairseq's best_checkpoint_metric "loss" is the criterion's loss).
BEST_METRIC = "val/label_smoothed_loss"
BEST_NAME = "best"


def check_score_checkpoint(value: str) -> str:
    if value not in SCORE_CHECKPOINTS:
        raise ConfigError(
            f"score_checkpoint={value!r} is unknown; choose one of: {', '.join(SCORE_CHECKPOINTS)}"
        )
    return value


def best_checkpoint_callback(out_dir: Path) -> ModelCheckpoint:
    """Keeps the weights of the lowest validation loss as ``<out_dir>/checkpoints/best.ckpt``."""
    return ModelCheckpoint(
        dirpath=str(Path(out_dir) / "checkpoints"),
        filename=BEST_NAME,
        monitor=BEST_METRIC,
        mode="min",
        save_top_k=1,
        save_last=False,
        save_weights_only=True,
        auto_insert_metric_name=False,
        enable_version_counter=False,
    )


def load_best_weights(module: Any, callback: ModelCheckpoint) -> dict[str, Any]:
    """Load the best checkpoint's weights into ``module``; returns what was loaded.

    A run too short to validate has no best checkpoint: that is a configuration
    mistake under ``score_checkpoint=best`` (validation must run at least once).
    """
    path = callback.best_model_path
    if not path or not Path(path).is_file():
        raise DataNotFoundError(
            "score_checkpoint=best but no validation ran, so there is no best checkpoint; "
            "lower trainer.val_check_interval or use score_checkpoint=last"
        )
    state = torch.load(path, map_location="cpu", weights_only=False)
    module.load_state_dict(state["state_dict"])
    score = callback.best_model_score
    return {"path": str(path), "step": int(state.get("global_step", -1)),
            BEST_METRIC: None if score is None else float(score)}
