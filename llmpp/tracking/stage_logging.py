"""A finished stage's results sent to its experiment logger (``logger=``) in one call.

The stages that only evaluate (benchmark, label, distill, latency) have no Trainer
to log for them; they call :func:`log_stage` once their JSON is written. The run
then holds the metrics (nested dicts flattened to ``a/b/c`` keys), the resolved
config without secrets, the plots as images and the JSON files as an artifact, so
runs compare in W&B like the training stages do. Logging after the work means a
stage that fails opens no run, and a run's metrics always match the JSON on disk.
"""

from __future__ import annotations

import logging
import numbers
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from llmpp.tracking.loggers import build_logger, finish_logger, is_wandb
from llmpp.tracking.run_names import stage_run_names
from llmpp.utils.secrets import scrub

log = logging.getLogger(__name__)


def flatten(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of nested dicts as ``prefix + a/b/c``; strings, lists and None are left out.

    Lists (per-architecture predictions) belong in tables or artifacts, not in
    scalar metrics; booleans become 0/1.
    """
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}/"))
        elif isinstance(value, numbers.Real):  # numpy scalars too; True -> 1.0
            flat[name] = float(value) if isinstance(value, bool) else value
    return flat


def loggable_config(config: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The resolved config as plain data, credentials removed.

    Inside a Hydra job the config-group options chosen for this config's groups are
    added as ``choices`` (``{"model": "neuron_mos", "task": ...}``): a block such as
    ``model`` holds a class path, not the option's name a sweep filters by.
    """
    if isinstance(config, DictConfig):
        config = OmegaConf.to_container(config, resolve=True)
    plain = dict(config)
    choices = group_choices(plain)
    if choices and "choices" not in plain:
        plain["choices"] = choices
    return scrub(plain)


def group_choices(config: Mapping[str, Any]) -> dict[str, str]:
    """The running Hydra job's option of every top-level group ``config`` holds."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return {}
    chosen = HydraConfig.get().runtime.choices or {}
    return {
        str(group): str(option)
        for group, option in chosen.items()
        if option is not None and "/" not in str(group) and "@" not in str(group)
        and str(group) in config
    }


def log_config(logger: Any, config: DictConfig | Mapping[str, Any]) -> None:
    """Record a stage's resolved config (scrubbed) as its run's config; no logger: nothing.

    Training stages call it before their Trainer starts, so the run compares by task,
    space, model kind, data, trainer and optimiser, not only by the LightningModule's
    hyperparameters that Lightning adds later.
    """
    if logger is not None and logger is not False:
        logger.log_hyperparams(loggable_config(config))


def log_images(logger: Any, images: Mapping[str, Path]) -> None:
    """PNG files as W&B images of the run (other loggers, missing files: skipped)."""
    if not is_wandb(logger):
        return
    for key, path in images.items():
        if Path(path).is_file():
            logger.log_image(key=key, images=[str(path)])


def log_stage(
    logger_cfg: Any,
    out_dir: Path,
    *,
    stage: str,
    task: str | None,
    config: DictConfig | Mapping[str, Any],
    metrics: Mapping[str, Any],
    images: Mapping[str, Path] | None = None,
    files: Sequence[Path] = (),
    tables: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]] | None = None,
) -> None:
    """Open the stage's run, log its results, finish it (``logger=none``: nothing at all).

    Args:
        logger_cfg: the stage's ``logger`` block (None or ``_target_: null``: no logging).
        out_dir: the run dir (W&B and CSV files go under it).
        stage: the stage's name (the W&B job type).
        task: the task's name (part of the run's name).
        config: the stage's resolved config; scrubbed here.
        metrics: nested numbers, flattened into metric keys.
        images: W&B image key -> PNG path (missing files are skipped).
        files: the stage's outputs, logged together as one W&B artifact.
        tables: W&B table key -> (columns, rows).
    """
    logger = build_logger(logger_cfg, out_dir, **stage_run_names(stage, task))
    if logger is None:
        return
    status = "failed"
    try:
        logger.log_hyperparams(loggable_config(config))
        logger.log_metrics(flatten(metrics))
        if is_wandb(logger):
            _log_media(logger, images or {}, tables or {})
            name = logger.experiment.name or f"{stage}-{task}"
            _log_artifact(logger, artifact_name(name), stage, files)
        status = "success"
    finally:
        finish_logger(logger, status)


def _log_media(logger: Any, images: Mapping[str, Path], tables: Mapping[str, Any]) -> None:
    log_images(logger, images)
    for key, (columns, rows) in tables.items():
        logger.log_table(key=key, columns=list(columns), data=[list(r) for r in rows])


def artifact_name(run_name: str) -> str:
    """A W&B artifact name (letters, digits, ``-_.``) from a run's name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_name).strip("_.")[:128] or "outputs"


def _log_artifact(logger: Any, name: str, stage: str, files: Sequence[Path]) -> None:
    """The stage's output files as one artifact of type ``<stage>``.

    ``immutable``: W&B references the files in place instead of copying them into its
    staging dir outside the run dir (the outputs are final once the stage logs them).
    """
    import wandb

    present = [Path(f) for f in files if Path(f).is_file()]
    if not present:
        return
    artifact = wandb.Artifact(name, type=stage)
    for path in present:
        artifact.add_file(str(path), name=path.name, policy="immutable")
    logger.experiment.log_artifact(artifact)
