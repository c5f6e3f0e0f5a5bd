"""Builds the Lightning Trainer, logger and data/module objects the training stages share."""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, OmegaConf

from llmpp.data.datamodule import TranslationDataModule
from llmpp.errors import ConfigError, CorruptFileError, DataNotFoundError
from llmpp.stages.common import build
from llmpp.training.module import TranslationModule

log = logging.getLogger(__name__)

# DDP must tolerate layers a sampled sub-network does not use.
_UNUSED_OK = {
    "ddp": "ddp_find_unused_parameters_true",
    "ddp_spawn": "ddp_spawn_find_unused_parameters_true",
}


def wandb_logger(
    *,
    save_dir: str,
    project: str = "llmpp",
    name: str | None = None,
    offline: bool | None = None,
    **kwargs: Any,
):
    """A WandbLogger, offline unless W&B is configured (API key, login or WANDB_MODE)."""
    from lightning.pytorch.loggers import WandbLogger

    if offline is None:
        configured = bool(os.environ.get("WANDB_API_KEY")) or (Path.home() / ".netrc").is_file()
        offline = (
            os.environ.get("WANDB_MODE", "offline" if not configured else "online") != "online"
        )
    return WandbLogger(save_dir=save_dir, project=project, name=name, offline=offline, **kwargs)


def build_logger(cfg: DictConfig | None, out_dir: Path):
    """The configured Lightning logger, or False for ``logger=none``."""
    if cfg is None or cfg.get("_target_") in (None, "none"):
        return False
    return build(cfg, "logger", save_dir=str(out_dir))


def trainer_kwargs(cfg: DictConfig) -> dict[str, Any]:
    """``cfg.trainer`` as Trainer arguments, with precision and DDP settings resolved."""
    kwargs = OmegaConf.to_container(cfg, resolve=True)
    kwargs.pop("_target_", None)
    accelerator = str(kwargs.get("accelerator", "auto"))
    on_gpu = torch.cuda.is_available() and accelerator in ("auto", "gpu", "cuda")
    if kwargs.get("precision") in (None, "auto"):
        kwargs["precision"] = "bf16-mixed" if on_gpu else "32-true"
    strategy = kwargs.get("strategy", "auto")
    if isinstance(strategy, str):
        kwargs["strategy"] = _UNUSED_OK.get(strategy, strategy)
    kwargs["use_distributed_sampler"] = False  # the token batch sampler shards by rank itself
    return kwargs


def build_trainer(cfg: DictConfig, out_dir: Path, *, every_n_steps: int | None = None) -> L.Trainer:
    """A Trainer writing checkpoints to ``<out_dir>/checkpoints`` (``last.ckpt`` kept)."""
    checkpoint = ModelCheckpoint(
        dirpath=str(out_dir / "checkpoints"),
        filename="step{step}",
        save_last=True,
        every_n_train_steps=every_n_steps,
        save_top_k=1,
        auto_insert_metric_name=False,
    )
    kwargs = trainer_kwargs(cfg.trainer)
    try:
        return L.Trainer(
            default_root_dir=str(out_dir),
            logger=build_logger(cfg.get("logger"), out_dir),
            callbacks=[checkpoint],
            **kwargs,
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"trainer: {' '.join(str(exc).split())}; check the trainer.* overrides"
        ) from None


def resume_path(setting: Any, out_dir: Path) -> str | None:
    """``auto`` -> ``<out_dir>/checkpoints/last.ckpt`` if it exists; a path; or None."""
    if setting in (None, False, "", "none", "null"):
        return None
    if setting == "auto":
        last = out_dir / "checkpoints" / "last.ckpt"
        if not last.is_file():
            return None
        check_readable_checkpoint(last)
        return str(last)
    path = Path(str(setting)).expanduser()
    if not path.is_file():
        raise DataNotFoundError(
            f"checkpoint {path} does not exist; pass an existing .ckpt to resume"
        )
    check_readable_checkpoint(path)
    return str(path)


def check_readable_checkpoint(path: Path) -> None:
    """Refuse a truncated or foreign checkpoint before Lightning tries to restore it.

    torch.save writes a zip archive whose directory sits at the end of the file, so a
    truncated file fails this cheap check without loading any weights.
    """
    if not zipfile.is_zipfile(path):
        raise CorruptFileError(
            f"{path} is not a readable checkpoint (truncated or not written by torch.save); "
            "delete it to start over or pass another .ckpt"
        )


def build_datamodule(cfg: DictConfig) -> TranslationDataModule:
    data = OmegaConf.to_container(cfg.data, resolve=True)
    return TranslationDataModule(cfg.task, seed=int(cfg.seed), **data)


def build_module(cfg: DictConfig, space, *, arch: dict | None = None) -> TranslationModule:
    """The LightningModule from ``cfg.model`` (``sampling=fixed`` when ``arch`` is given)."""
    model = OmegaConf.to_container(cfg.model, resolve=True)
    if arch is not None:
        model["sampling"], model["arch"] = "fixed", arch
    try:
        return TranslationModule(
            space_name=space.name,
            space_spec=space.spec(),
            vocab_size=int(cfg.task.vocab_size),
            seed=int(cfg.seed),
            task=OmegaConf.to_container(cfg.task, resolve=True),
            **model,
        )
    except TypeError as exc:
        raise ConfigError(f"model: {exc}; check the model.* keys") from None
