"""The one resume policy of every long stage (supernet, retrain, label, latency, search, data).

A run is one experiment: it continues only with the settings it was started with.

- A stage saves its resolved config as ``<run dir>/<stage>_config.yaml`` when it starts.
- ``resume=<run dir>`` continues that run in its own dir with that saved config; the
  work it finished (checkpoints, labelled chunks, measured latencies, search
  iterations, trained architectures, built corpora) is kept, the rest is done. A
  setting given on the command line beside ``resume=`` that differs from the saved one
  is refused in one line naming it; only the run-only keys (``logger``) may change.
- Without ``resume=``, a run dir that already holds a saved config (the same
  ``hydra.run.dir`` again, or a killed ``llmpp run`` step's store dir) continues in the
  same way when the settings agree, and is refused when they differ.

Which stages honour ``resume=`` is declared in the registry (``StageSpec.resume``); only
their primary configs offer the slot.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from llmpp.config import load_saved_config
from llmpp.errors import ConfigError
from llmpp.utils.io import atomic_open
from llmpp.utils.secrets import scrub

# Keys that say how a run is watched, not what it computes: they may change on resume.
RUN_ONLY = ("logger", "resume")
MAX_NAMED = 4  # differing keys named in the one-line error


def config_file(stage: str) -> str:
    """The saved config's file name in a run dir."""
    return f"{stage}_config.yaml"


def continue_run(cfg: DictConfig, out_dir: Path, stage: str) -> tuple[DictConfig, Path]:
    """The config and run dir a long stage works with (see the module's policy).

    Args:
        cfg: the composed config of this invocation.
        out_dir: this invocation's run dir (used unless ``resume=`` names another).
        stage: the stage's name (the saved config is ``<stage>_config.yaml``).

    Returns:
        (config, run dir): the saved config of the run continued, or ``cfg``.
    """
    if cfg.get("resume"):
        cfg, out_dir = _resumed(cfg, stage)
    else:
        out_dir = Path(out_dir)
        _check_same_run(cfg, out_dir, stage)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_open(out_dir / config_file(stage)) as handle:
        handle.write(OmegaConf.to_yaml(_comparable(cfg, keep_run_only=True)))
    return cfg, out_dir


def _resumed(cfg: DictConfig, stage: str) -> tuple[DictConfig, Path]:
    run = Path(str(cfg.resume)).expanduser()
    saved_path = run / config_file(stage)
    if not saved_path.is_file():
        raise ConfigError(f"resume={run} is not a {stage} run dir (no {saved_path.name}); "
                          f"pass the run dir of an earlier `llmpp {stage}`")
    saved = load_saved_config(saved_path)
    changed = [key for key in command_line_keys()
               if _value(cfg, key) != _value(saved, key)]
    if changed:
        shown = ", ".join(f"{key}={_value(cfg, key)!r} (saved: {_value(saved, key)!r})"
                          for key in changed[:MAX_NAMED])
        raise ConfigError(f"resume={run} continues with the settings saved in "
                          f"{saved_path.name}; {shown} would change them: drop the override, "
                          "or start a new run without resume=")
    with open_dict(saved):
        for key in RUN_ONLY:
            saved[key] = cfg.get(key)
        saved.resume = str(run)
    return saved, run


def _check_same_run(cfg: DictConfig, out_dir: Path, stage: str) -> None:
    saved_path = out_dir / config_file(stage)
    if not saved_path.is_file():
        return
    before = _flat(_comparable(load_saved_config(saved_path)))
    now = _flat(_comparable(cfg))
    changed = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
    if changed:
        more = f" and {len(changed) - MAX_NAMED} more" if len(changed) > MAX_NAMED else ""
        raise ConfigError(
            f"{out_dir} holds a {stage} run with other settings ({', '.join(changed[:MAX_NAMED])}"
            f"{more} differ); use another hydra.run.dir, or resume={out_dir} to continue it "
            "with its own settings")


def command_line_keys() -> list[str]:
    """Config keys this invocation's command line sets (inside a Hydra app; else none).

    ``resume``, the run-only keys and Hydra's own settings are left out.
    """
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    keys = []
    for override in HydraConfig.get().overrides.task:
        key = str(override).split("=", 1)[0].lstrip("+~")
        key = key.split("@", 1)[1] if "@" in key else key  # group@package=option
        if key and not key.startswith("hydra") and key.split(".", 1)[0] not in RUN_ONLY:
            keys.append(key)
    return keys


def _comparable(cfg: DictConfig, keep_run_only: bool = False) -> DictConfig:
    # Saved to disk and compared: API keys from the environment never reach either.
    plain = scrub(OmegaConf.to_container(cfg, resolve=True))
    if not keep_run_only:
        plain = {k: v for k, v in plain.items() if k not in RUN_ONLY}
    return OmegaConf.create(plain)


def _value(cfg: DictConfig, key: str) -> Any:
    found = OmegaConf.select(cfg, key, default=None)
    return OmegaConf.to_container(found, resolve=True) if OmegaConf.is_config(found) else found


def _flat(cfg: DictConfig | Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``a.b.c -> value`` for every leaf (lists compared whole)."""
    plain = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    out: dict[str, Any] = {}
    for key, value in plain.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flat(value, f"{path}."))
        else:
            out[path] = value
    return out
