"""What each stage's config holds: the table ``llmpp.config_check`` checks configs against.

Blocks with a ``_target_`` need no entry: their keys and types come from the target's
signature. The table names the plain-data blocks (a stage's own settings in
``conf/steps/<stage>.yaml``, the root keys of each primary config), pointing at a
dataclass where the stage feeds a block to one. A key present in a stage's YAML but
absent here is known with its type unchecked (tests ask for its type here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from llmpp.config import CONF_DIR


class NodeSpec:
    """Spec marker: a block built by its ``_target_`` (or null)."""


class NodesSpec:
    """Spec marker: a mapping of names to ``_target_`` blocks (callbacks, predictors)."""


NODE, NODES = NodeSpec(), NodesSpec()


@dataclass(frozen=True)
class Fields:
    """Spec of a block whose keys are a class's constructor parameters.

    Args:
        target: ``package.module.Class`` (imported when a config uses the block).
        runtime: parameters the stage passes itself (not config keys).
        extra: keys the stage reads besides the class's parameters, with their types.
    """

    target: str
    runtime: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Registry:
    """Spec of a mapping ``name -> options`` where ``module:NAME`` maps names to classes."""

    path: str


TRACKING = {"tags": list[str], "table_rows": int | None, "progress": bool}
CHECKPOINTS = {"supernet_checkpoint": str | None, "distill_checkpoint": str | None}
TRAINING_GROUPS = {"optim": NODE, "trainer": NODE, "callbacks": NODES}

# Slots every primary config may hold (conf/stage_defaults.yaml and the config groups).
SHARED: dict[str, Any] = {
    "seed": int,
    "resume": str | None,
    "task": Fields("llmpp.task.TaskSpec", extra={"members": list[str], "data": dict[str, Any]}),
    "callbacks": NODES,
    "predictors": NODES,
    **{group: NODE for group in ("space", "logger", "model", "data", "optim", "trainer",
                                 "benchmark", "predictor", "llm", "prompt", "search",
                                 "constraint", "hardware")},
}

# How a search's first population is made (search stage and the run's search step).
INIT: dict[str, Any] = {"kind": str, "gflops": float | None, "count": int, "max_rounds": int,
                        "demo_seed": int}

# A stage's own settings (conf/steps/<stage>.yaml): the root of `llmpp <stage>` and the
# step's block in `llmpp run`.
STEP_KEYS: dict[str, dict[str, Any]] = {
    "supernet": {**TRAINING_GROUPS, "eval_archs": list[str], "eval_bleu_limit": int | None,
                 "beam": int},
    "retrain": {
        **TRAINING_GROUPS, "arch": str | dict[str, Any] | None, "archs": str | list[Any] | None,
        "n_archs": int, "sample_seed": int, "eval_bleu_limit": int | None, "beam": int,
        "length_penalty": float, "bleu_reported": str, "init_from": str | None,
        "keep_checkpoints": bool, "split": {"seeds": list[int], "demos": int, "test": int},
        "supernet_checkpoint": str | None,
    },
    "latency": {
        "n_archs": int, "sample_seed": int, "test_fraction": float, "chunk": int,
        "retest": int, "progress": bool,
        "measure": Fields("llmpp.hardware.measure.MeasureConfig", runtime=("seed",)),
        "fit": {"model": str, "cv_folds": int,
                "models": Registry("llmpp.hardware.predictor:MODELS")},
    },
    "label": {"predictor": NODE, "pool": str, "pool_seeds": list[int], "demo_seeds": list[int],
              "n_archs": int, "sample_seed": int, "limit": int | None, "chunk": int},
    "distill": {
        "labels": str | None,
        "teacher": {"predictor": NODE, "pool": str, "n_archs": int, "demo_seeds": list[int],
                    "pool_seeds": list[int]},
        "regressor": Fields("llmpp.distill.train.TrainConfig", runtime=("seed",),
                            extra={"features": str, "label_seed": int | None}),
    },
}

# `llmpp run`: step block -> the stage it runs (llmpp/pipeline/plan.py; a test keeps
# the two equal).
RUN_STEPS = {"supernet": "supernet", "latency": "latency", "gold": "retrain",
             "label": "label", "distill": "distill", "retrain": "retrain"}

# Root keys of each primary config (conf/<name>.yaml) besides SHARED.
STAGE_KEYS: dict[str, dict[str, Any]] = {
    "benchmark": {"plots": bool, "supernet_checkpoint": str | None},
    "data_stage": {"build": {"workers": int | None, "chunk_pairs": int}},
    "describe": {"arch": str | dict[str, Any]},
    "distill": {**STEP_KEYS["distill"], "supernet_checkpoint": str | None},
    "label": STEP_KEYS["label"],
    "latency": STEP_KEYS["latency"],
    "report": {"dirs": list[str], "out": str | None, "plots": bool},
    "retrain": STEP_KEYS["retrain"],
    "search": {**CHECKPOINTS, "tracking": TRACKING, "init": INIT},
    "supernet": {**STEP_KEYS["supernet"], **CHECKPOINTS, "tracking": TRACKING},
    "run": {**CHECKPOINTS, "tracking": TRACKING, "init": INIT, "run": {"artifacts": str},
            **{step: STEP_KEYS[stage] for step, stage in RUN_STEPS.items()}},
}

def stage_schema(config_name: str) -> dict[str, Any] | None:
    """The root schema of ``conf/<config_name>.yaml`` (None: not in the table).

    A key written in the stage's YAML files but missing from the table is known with
    its type unchecked, so a new option added to ``conf/steps/<stage>.yaml`` never
    makes its stage refuse to start (a test asks for its type in the table).
    """
    own = STAGE_KEYS.get(config_name)
    if own is None:
        return None
    own = {**dict.fromkeys(yaml_keys(f"{config_name}.yaml"), Any), **own}
    steps = {step: stage for step, stage in RUN_STEPS.items() if config_name == "run"}
    if config_name in STEP_KEYS:
        own = {**dict.fromkeys(yaml_keys(f"steps/{config_name}.yaml"), Any), **own}
    for step, stage in steps.items():
        own[step] = {**dict.fromkeys(yaml_keys(f"steps/{stage}.yaml"), Any), **own[step]}
    # A slot a stage's YAML sets (``resume``) keeps its shared type.
    return {**SHARED, **{k: v for k, v in own.items() if not (v is Any and k in SHARED)}}


@cache
def yaml_keys(relative: str) -> tuple[str, ...]:
    """The top-level keys a file under ``conf/`` sets (not its defaults list or hydra)."""
    try:
        data = yaml.safe_load((Path(CONF_DIR) / relative).read_text())
    except (OSError, yaml.YAMLError):
        return ()
    if not isinstance(data, dict):
        return ()
    return tuple(str(k) for k in data if k not in ("defaults", "hydra"))
