"""Library settings objects with the stage's own values, for tests and benchmarks.

``MeasureConfig`` and ``TrainConfig`` have no defaults: their values are written once,
in the stage's YAML (``conf/steps/<stage>.yaml``). A test that needs one reads that block
here and changes only what it is about.
"""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from llmpp.distill.train import TrainConfig
from llmpp.hardware.measure import MeasureConfig
from llmpp.utils.paths import conf_dir

# The regressor block's keys the distill stage reads itself (not TrainConfig's).
REGRESSOR_STAGE_KEYS = ("features", "label_seed")


def step_block(stage: str, key: str) -> dict[str, Any]:
    """The block ``key`` of ``conf/steps/<stage>.yaml`` as a plain mapping."""
    node = OmegaConf.load(conf_dir() / "steps" / f"{stage}.yaml")[key]
    return OmegaConf.to_container(node, resolve=True)


def measure_config(**changes: Any) -> MeasureConfig:
    """The latency stage's ``measure`` block (seed 0) with ``changes``."""
    return MeasureConfig(**{**step_block("latency", "measure"), "seed": 0, **changes})


def train_config(**changes: Any) -> TrainConfig:
    """The distill stage's ``regressor`` block (seed 0) with ``changes``."""
    block = {k: v for k, v in step_block("distill", "regressor").items()
             if k not in REGRESSOR_STAGE_KEYS}
    return TrainConfig(**{**block, "seed": 0, **changes})
