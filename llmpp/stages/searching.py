"""Building a search's objects from a stage's config (``search``, ``supernet`` stages).

The stage reads its root config here once and hands the library objects: a bound
constraint, the predictors the algorithm asks for, the hardware target's latency
predictor, the tracker.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from llmpp.config import build
from llmpp.constraints import Constraint, bind
from llmpp.errors import ConfigError
from llmpp.predictors.base import Predictor
from llmpp.space.search_space import SearchSpace
from llmpp.task import TaskSpec

CHECKPOINT_KEYS = {"supernet": "supernet_checkpoint", "llm_distill": "distill_checkpoint"}


def hardware_name(cfg: DictConfig) -> str:
    hw = cfg.get("hardware")
    return str(hw.get("name", "hw")) if isinstance(hw, DictConfig) else str(hw or "cpu")


def latency_predictor(cfg: DictConfig, space: SearchSpace, task: TaskSpec) -> Any:
    """The hardware target's latency predictor, or None when none is configured.

    A target with an artifact path loads it; a target HAT measured builds its predictor
    from HAT's release without one.
    """
    hardware = cfg.get("hardware")
    if not isinstance(hardware, DictConfig):
        return None
    if not hardware.get("latency_predictor") and not hardware.get("dataset_device"):
        return None
    return build(hardware, "hardware").load_latency_predictor(space, task)


def build_constraint(
    cfg: DictConfig, space: SearchSpace, task: TaskSpec, latency: Any = None
) -> Constraint | None:
    """``cfg.constraint`` bound to the task's vocabulary, the space and the latency predictor."""
    if not cfg.get("constraint"):
        return None
    if latency is None:
        latency = latency_predictor(cfg, space, task)
    return bind(build(cfg.constraint, "constraint"), vocab_size=task.vocab_size,
                qkv_dim=space.qkv_dim, latency=latency)


def build_search_predictors(
    cfg: DictConfig, names: Iterable[str], *, skip: Iterable[str] = ()
) -> dict[str, Predictor]:
    """The predictors of ``cfg.predictors`` the search names (not yet set up)."""
    predictors: dict[str, Predictor] = {}
    for name in names:
        if name in set(skip) or name not in (cfg.get("predictors") or {}):
            continue  # the memo scorer names a missing one
        node = cfg.predictors[name]
        if "checkpoint" in node and not node.checkpoint:
            key = CHECKPOINT_KEYS.get(name, f"predictors.{name}.checkpoint")
            raise ConfigError(f"the search ranks with {name} but its checkpoint is not set; "
                              f"pass {key}=<path>")
        predictors[name] = build(node, f"predictors.{name}")
    return predictors


def logged_settings(cfg: DictConfig) -> dict[str, Any]:
    """What a search logs as its config: the choices that shape it (scrubbed by the session)."""
    keys = ("task", "space", "search", "constraint", "hardware", "seed", "predictors",
            "supernet_checkpoint", "distill_checkpoint")
    plain = OmegaConf.to_container(cfg, resolve=True)
    return {k: plain[k] for k in keys if k in plain}


def search_out_dir(value: str | Path, base: Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base / path
