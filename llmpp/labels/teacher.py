"""Labels from any predictor: score an architecture pool into ``labels.jsonl`` rows.

LLM-PP labels come from ``llmpp label``; this module makes every other predictor a
teacher too (the linear baseline, an ensemble, a synthetic function in tests), on
the authors' 500-architecture distillation pools or on architectures sampled from
the space with a seed (``llmpp.labels.pools``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from llmpp.labels.format import label_row
from llmpp.predictors.base import Demonstration, Predictor, TaskContext
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace
from llmpp.task import TaskSpec


def label_with_predictor(
    predictor: Predictor,
    archs: Sequence[Architecture],
    demonstrations: Sequence[Demonstration],
    *,
    task: TaskSpec,
    space: SearchSpace,
    seed: int,
) -> list[dict[str, Any]]:
    """Fit ``predictor`` on ``demonstrations``, score ``archs``; rows in the labels format."""
    predictor.setup(TaskContext(task=task, space=space, seed=seed))
    try:
        predictor.fit(list(demonstrations))
        scores = np.asarray(predictor.predict(list(archs)), dtype=float)
        name = predictor.name
    finally:
        predictor.close()
    return [
        label_row(arch, float(score), backend="predictor", model=name, task=task.name, seed=seed)
        for arch, score in zip(archs, scores, strict=True)
    ]
