"""One naming scheme for the W&B runs of every stage, so a sweep lines up without tags.

A run is named ``<stage>-<task>-<key=value ...>`` where the ``key=value`` parts are
what tells it apart from its neighbours:

* in a Hydra multirun, the overrides that sweep (``predictor=linear,mean_demos``),
  read from the ``multirun.yaml`` Hydra writes into the sweep dir before any job
  starts (the job itself only sees its own values, not which of them vary); the
  sweep dir's name is the W&B group, so a sweep is one group in the UI;
* in a single run, the config-group options chosen on the command line
  (``predictor=linear``): short names that say what was run;
* outside a Hydra job (tests, ``llmpp run``'s steps, scripts), ``<stage>-<task>``.

``llmpp run`` names and groups its steps itself; ``build_logger`` keeps names a
config already holds, so these are only defaults.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

log = logging.getLogger(__name__)
# Keys that never name a run: where it writes, how it logs, what the name already says.
SILENT_KEYS = ("hydra", "logger", "task", "resume")
MAX_VALUE = 40  # characters of one value in a name (paths are cut from the left)


def stage_run_names(stage: str, task: str | None = None) -> dict[str, str | None]:
    """``job_type``, ``name`` and ``group`` of a stage's run (keyword arguments of
    ``build_logger``).

    Args:
        stage: the stage (``benchmark``, ``supernet``...): the W&B job type.
        task: the task's name (``cfg.task.name``; ``all`` for the three WMT tasks).
    """
    parts = [stage, *([task] if task else [])]
    group = None
    job = _hydra_job()
    if job is not None:
        varying = _varying(job)
        parts += [f"{key}={_short(value)}" for key, value in varying]
        if _is_multirun(job):
            group = Path(str(job.sweep.dir)).name
    return {"job_type": stage, "name": "-".join(parts), "group": group}


def _hydra_job() -> Any:
    """The running Hydra job's ``hydra`` config, or None outside a Hydra job."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def _is_multirun(job: Any) -> bool:
    return str(job.mode) == "RunMode.MULTIRUN"


def _varying(job: Any) -> list[tuple[str, str]]:
    """(key, this job's value) of the overrides that name the run, in command-line order."""
    # The overrides as typed: Hydra stores them in an OmegaConf list, where reading an
    # element resolves a `${...}` in its value against that list (and fails).
    typed = OmegaConf.to_container(job.overrides.task, resolve=False)
    own = [pair for pair in map(_split, typed) if pair is not None]
    if _is_multirun(job):
        swept = _swept_keys(Path(str(job.sweep.dir)))
        if swept is not None:
            return [(key, value) for key, value in own if key in swept]
        return own  # a sweeper that writes no multirun.yaml: every override may vary
    choices = set(job.runtime.choices or {})
    return [(key, value) for key, value in own if key in choices]


def _split(text: str) -> tuple[str, str] | None:
    """``key=value`` without Hydra's ``+``/``++``/``~`` prefixes; None for silent keys."""
    key, sep, value = str(text).partition("=")
    key = key.lstrip("+~")
    if not sep or key.split(".")[0].split("/")[0] in SILENT_KEYS:
        return None
    return key, value


def _swept_keys(sweep_dir: Path) -> set[str] | None:
    """Keys the sweep varies (sweep syntax on the command line or ``hydra.sweeper.params``)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    path = sweep_dir / "multirun.yaml"
    if not path.is_file():
        return None
    try:
        saved = OmegaConf.load(path).hydra
        overrides = [str(o) for o in saved.overrides.task]
        params = saved.sweeper.get("params") or {}
        overrides += [f"{key}={value}" for key, value in params.items()]
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception as exc:  # noqa: BLE001 - a name is not worth failing a sweep job for
        log.debug("cannot read the sweep's overrides from %s: %s", path, exc)
        return None
    return {o.key_or_group.lstrip("+~") for o in parsed if o.is_sweep_override()}


def _short(value: str) -> str:
    """A value short enough for a run name; a long path keeps its informative end."""
    return value if len(value) <= MAX_VALUE else "…" + value[-(MAX_VALUE - 1):]
