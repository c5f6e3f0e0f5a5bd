"""Experiment loggers of the stages (the ``logger`` config group): one W&B run per stage.

A stage builds its logger once, hands it to its Trainer(s) or its search, and
finishes it before returning, so the next stage of ``llmpp run`` starts a run of
its own instead of writing into the previous one.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from llmpp.config import build
from llmpp.errors import ConfigError
from llmpp.utils.logs import quiet_wandb

log = logging.getLogger(__name__)


def wandb_configured() -> bool:
    """Whether W&B may go online: a key, a login, or an explicit mode in the environment."""
    return bool(os.environ.get("WANDB_API_KEY")) or (Path.home() / ".netrc").is_file()


def wandb_logger(
    *,
    save_dir: str,
    project: str = "llmpp",
    name: str | None = None,
    group: str | None = None,
    job_type: str | None = None,
    tags: list[str] | None = None,
    offline: bool | None = None,
    **kwargs: Any,
):
    """A WandbLogger, offline unless W&B is configured (API key, login or WANDB_MODE)."""
    from lightning.pytorch.loggers import WandbLogger

    if offline is None:
        default = "online" if wandb_configured() else "offline"
        offline = os.environ.get("WANDB_MODE", default) != "online"
    extra = {k: v for k, v in (("group", group), ("job_type", job_type)) if v}
    logger = WandbLogger(
        save_dir=save_dir, project=project, name=name, offline=offline,
        tags=list(tags or []) or None, **extra, **kwargs,
    )
    return quiet_wandb(logger)


def is_wandb(logger: Any) -> bool:
    return type(logger).__name__ == "WandbLogger"


def build_logger(cfg: Any, out_dir: Path, **settings: Any) -> Any:
    """The configured Lightning logger writing under ``out_dir``, or None (``logger=none``).

    ``settings`` (``group``, ``job_type``, ``name``) fill W&B keys the config left
    null; other loggers ignore them.
    """
    if cfg in (None, False, "none", "null"):
        return None
    if not hasattr(cfg, "get"):
        raise ConfigError(f"logger={cfg!r} is not a logger config; choose logger=wandb|csv|none")
    if cfg.get("_target_") in (None, "none"):
        return None
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    extra: dict[str, Any] = {}
    if "wandb" in str(cfg.get("_target_")).lower():
        extra = {k: v for k, v in settings.items() if v is not None and not cfg.get(k)}
    return build(cfg, "logger", save_dir=str(out_dir), **extra)


def finish_logger(logger: Any, status: str = "success") -> None:
    """Flush and close a stage's logger; a W&B run is finished so the next stage starts anew."""
    if logger is None or logger is False:
        return
    logger.finalize(status)
    if is_wandb(logger):
        import wandb

        if getattr(logger, "_experiment", None) is not None:
            logger.experiment.finish()
        elif wandb.run is not None:
            wandb.finish()
