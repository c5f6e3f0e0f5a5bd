"""The configs of the pipeline's steps, derived from the ``run`` config.

Each step is one stage's own primary config (``conf/<stage>.yaml``) with the run's
overrides for it, the run's shared choices (task, space, hardware, LLM, prompt,
search, logger, seed) and the paths of the earlier steps' outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from llmpp.errors import ConfigError
from llmpp.stages.common import compose_stage

SHARED_GROUPS = ("task", "space", "hardware", "llm", "prompt", "search", "logger")


def step_config(
    run_cfg: DictConfig, stage: str, *, overrides_key: str | None = None, **inputs: Any
) -> DictConfig:
    """``stage``'s config for this run; ``inputs`` are set as dotted keys after the rest."""
    overrides = list(run_cfg.run.overrides.get(overrides_key or stage) or [])
    try:
        cfg = compose_stage(stage, [str(o) for o in overrides])
    except Exception as exc:  # Hydra's composition errors: bad override text
        message = " ".join(str(exc).split())
        raise ConfigError(f"run.overrides.{overrides_key or stage}: {message}") from None
    with open_dict(cfg):
        cfg.seed = run_cfg.seed
        for group in SHARED_GROUPS:
            if group in cfg and group in run_cfg:
                cfg[group] = run_cfg[group]
        _reapply_group_overrides(cfg, overrides)
        if "benchmark" in cfg and "benchmark" in run_cfg:
            cfg.benchmark = OmegaConf.merge(cfg.benchmark, run_cfg.benchmark)
        for dotted, value in inputs.items():
            OmegaConf.update(cfg, dotted.replace("__", "."), value, force_add=True)
    return cfg


def _reapply_group_overrides(cfg: DictConfig, overrides: list[str]) -> None:
    """Overrides of keys inside a shared group (e.g. ``search.iterations=10``) win over
    the run's copy of that group, which replaced the stage's own."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    for override in OverridesParser.create().parse_overrides([str(o) for o in overrides]):
        key = override.key_or_group
        if "." in key and key.split(".", 1)[0] in SHARED_GROUPS and not override.is_delete():
            OmegaConf.update(cfg, key, override.value(), force_add=True)


def uses_authors_gold(run_cfg: DictConfig) -> bool:
    """WMT tasks take their demonstrations from the authors' 30 architectures."""
    return bool(run_cfg.task.get("gold_name"))


def as_plain(value: Any) -> Any:
    if isinstance(value, DictConfig):
        return OmegaConf.to_container(value, resolve=True)
    if isinstance(value, Mapping):
        return dict(value)
    return value
