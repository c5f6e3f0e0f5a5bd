"""Builds the Trainer, callbacks, data and module of the training stages from their groups.

Each builder takes its own config group (``trainer``, ``callbacks``, ``data``,
``model``, ``optim``) plus the runtime objects it needs, never a stage's root config.
"""

from __future__ import annotations

import functools
import logging
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ProgressBar
from omegaconf import DictConfig, OmegaConf, open_dict

from llmpp.config import build
from llmpp.errors import ConfigError, CorruptFileError, DataNotFoundError
from llmpp.space.search_space import SearchSpace
from llmpp.training.host_memory import retain_freed_memory
from llmpp.training.preemption import PreemptionCheckpoint
from llmpp.training.rng_state import TrainingRngState

log = logging.getLogger(__name__)

# DDP must tolerate layers a sampled sub-network does not use.
_UNUSED_OK = {
    "ddp": "ddp_find_unused_parameters_true",
    "ddp_spawn": "ddp_spawn_find_unused_parameters_true",
}


def resolved_trainer_settings(cfg: DictConfig) -> dict[str, Any]:
    """What ``auto`` precision and the DDP strategy names mean on this machine."""
    accelerator = str(cfg.get("accelerator", "auto"))
    on_gpu = torch.cuda.is_available() and accelerator in ("auto", "gpu", "cuda")
    settings: dict[str, Any] = {"use_distributed_sampler": False}  # batches shard by rank
    if cfg.get("precision") in (None, "auto"):
        settings["precision"] = "bf16-mixed" if on_gpu else "32-true"
    strategy = cfg.get("strategy", "auto")
    if isinstance(strategy, str) and strategy in _UNUSED_OK:
        settings["strategy"] = _UNUSED_OK[strategy]
    return settings


def instantiate_callbacks(cfg: DictConfig | None, out_dir: Path) -> list[Any]:
    """Every callback of the ``callbacks`` group; relative ``dirpath``/``out_dir`` go under
    ``out_dir``. A ``_partial_`` callback comes back as a ``functools.partial`` for the
    stage to bind with runtime objects."""
    callbacks: list[Any] = []
    for name, node in (cfg or {}).items():
        if not isinstance(node, DictConfig) or "_target_" not in node:
            continue
        node = node.copy()
        for key in ("dirpath", "out_dir"):
            value = node.get(key)
            if isinstance(value, str) and not Path(value).is_absolute():
                node[key] = str(Path(out_dir) / value)
        callbacks.append(build(node, f"callbacks.{name}"))
    return callbacks


def bind_callbacks(callbacks: list[Any], **objects: Any) -> list[Any]:
    """Complete partial callbacks with the runtime objects their signature asks for."""
    import inspect

    bound = []
    for callback in callbacks:
        if isinstance(callback, functools.partial):
            wanted = inspect.signature(callback.func).parameters
            callback = callback(**{k: v for k, v in objects.items() if k in wanted})
        bound.append(callback)
    return bound


def validation_in_updates(cfg: DictConfig, updates: int | None) -> DictConfig:
    """``cfg`` (a trainer group) validating every ``updates`` optimizer updates.

    Lightning counts an integer ``val_check_interval`` in training *batches*; under
    ``accumulate_grad_batches`` = k that is every interval / k optimizer updates. A
    stage's ``val_check_interval_updates`` = n (HAT-style cadence, in updates) sets
    ``val_check_interval`` = n x k, so validation (and what it checkpoints) runs every
    n updates whatever the accumulation; None leaves ``val_check_interval`` as given.
    """
    if updates is None:
        return cfg
    if int(updates) < 1:
        raise ConfigError(f"val_check_interval_updates={updates} must be >= 1")
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.val_check_interval = int(updates) * int(cfg.get("accumulate_grad_batches") or 1)
    return cfg


def build_trainer(
    cfg: DictConfig, *, out_dir: Path, logger: Any = None, callbacks: list[Any] | None = None,
    val_check_interval_updates: int | None = None,
) -> L.Trainer:
    """The ``trainer`` group's Trainer writing under ``out_dir``.

    ``val_check_interval_updates``: validate every that many optimizer updates
    (``validation_in_updates``); None keeps the group's ``val_check_interval``.
    """
    cfg = validation_in_updates(cfg, val_check_interval_updates)
    retain_freed_memory()  # activations freed each step are reused, not re-faulted
    # Last, so every other callback has seen a batch before a preemption exit follows it.
    callbacks = [*(callbacks or []), TrainingRngState(),
                 PreemptionCheckpoint(last_checkpoint(out_dir))]
    if not cfg.get("enable_progress_bar", True):
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
    has_checkpoint = any(type(c).__name__ == "ModelCheckpoint" for c in callbacks)
    has_bar = any(isinstance(c, ProgressBar) for c in callbacks)
    try:
        return build(
            cfg, "trainer", default_root_dir=str(out_dir), logger=logger or False,
            callbacks=callbacks, enable_checkpointing=has_checkpoint,
            enable_progress_bar=has_bar, **resolved_trainer_settings(cfg), **_plugins(cfg),
        )
    except ConfigError as exc:
        raise ConfigError(f"{exc}; check the trainer.* overrides") from None


def _plugins(cfg: DictConfig) -> dict[str, Any]:
    """Atomic checkpoint writes, unless the config brings its own plugins."""
    if cfg.get("plugins") is not None:
        return {}
    from llmpp.training.checkpoint_io import AtomicCheckpointIO

    return {"plugins": [AtomicCheckpointIO()]}


def last_checkpoint(out_dir: Path) -> Path:
    """The checkpoint a training stage resumes from: ``<out_dir>/checkpoints/last.ckpt``."""
    return Path(out_dir) / "checkpoints" / "last.ckpt"


def resume_path(out_dir: Path) -> str | None:
    """``<out_dir>/checkpoints/last.ckpt`` when a previous run left one (checked), else None."""
    last = last_checkpoint(out_dir)
    if not last.is_file():
        return None
    check_readable_checkpoint(last)
    return str(last)


def check_readable_checkpoint(path: Path) -> None:
    """Refuse a truncated or foreign checkpoint before Lightning tries to restore it.

    torch.save writes a zip archive whose directory sits at the end of the file, so a
    truncated file fails this cheap check without loading any weights.
    """
    if not Path(path).is_file():
        raise DataNotFoundError(f"checkpoint {path} does not exist; pass an existing .ckpt")
    if not zipfile.is_zipfile(path):
        raise CorruptFileError(
            f"{path} is not a readable checkpoint (truncated or not written by torch.save); "
            "delete it to start over or pass another .ckpt"
        )


def build_datamodule(cfg: DictConfig, task: DictConfig | Mapping[str, Any], seed: int):
    """The ``data`` group's LightningDataModule for ``task``."""
    return build(cfg, "data", task=task, seed=int(seed))


def build_module(
    cfg: DictConfig,
    *,
    space: SearchSpace,
    task: DictConfig | Mapping[str, Any],
    optim: Any,
    seed: int,
    arch: dict | None = None,
):
    """The ``model`` group's LightningModule (a fixed architecture when ``arch`` is given)."""
    task_dict = (
        OmegaConf.to_container(task, resolve=True) if isinstance(task, DictConfig) else dict(task)
    )
    extra: dict[str, Any] = {}
    if arch is not None:
        extra = {"sampling": "fixed", "arch": dict(arch)}
    return build(
        cfg, "model", space_name=space.name, space_spec=space.spec(),
        vocab_size=int(task_dict["vocab_size"]), seed=int(seed), task=task_dict,
        **optim.as_kwargs(), **extra,
    )
