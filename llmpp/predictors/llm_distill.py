"""LLM-Distill-PP: a distilled regressor serving a teacher's knowledge at CPU speed.

The checkpoint comes from ``llmpp distill``. Its path may contain ``{task}`` and
``{seed}``, filled from the task context, so the gold protocol can use one
checkpoint per seed (each distilled from a teacher that saw only that seed's
demonstrations). With ``calibrate: true`` the demonstrations additionally fit a line
``gold ~ a * distilled + b`` on top of the regressor.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from llmpp.distill.checkpoint import DistilledModel
from llmpp.errors import ConfigError
from llmpp.predictors.base import Demonstration, Predictor, TaskContext
from llmpp.predictors.linear import fit_line
from llmpp.space.architecture import Architecture


class LLMDistillPredictor(Predictor):
    """Scores from a Distill-PP checkpoint, optionally calibrated on the demonstrations.

    Args:
        checkpoint: path of ``distill.ckpt``; ``{task}`` and ``{seed}`` are filled in.
        calibrate: fit ``a * score + b`` to the demonstrations in ``fit``.
        check_task: refuse a checkpoint distilled for another task.
    """

    def __init__(
        self, *, checkpoint: str | None = None, calibrate: bool = False, check_task: bool = True
    ) -> None:
        if not checkpoint:
            raise ConfigError(
                "predictor.checkpoint is required for llm_distill; train one with "
                "`llmpp distill labels=<labels.jsonl>` and pass "
                "predictor.checkpoint=<run dir>/distill.ckpt"
            )
        self.checkpoint = str(checkpoint)
        self.calibrate = bool(calibrate)
        self.check_task = bool(check_task)
        self.model: DistilledModel | None = None
        self.slope, self.intercept = 1.0, 0.0

    @property
    def name(self) -> str:
        return "llm_distill+calibrated" if self.calibrate else "llm_distill"

    def checkpoint_path(self, context: TaskContext) -> Path:
        try:
            text = self.checkpoint.format(task=context.task.name, seed=context.seed)
        except (KeyError, IndexError):
            raise ConfigError(
                f"predictor.checkpoint={self.checkpoint!r} may only use the placeholders "
                "{task} and {seed}"
            ) from None
        return Path(text).expanduser()

    def setup(self, context: TaskContext) -> None:
        super().setup(context)
        path = self.checkpoint_path(context)
        self.model = DistilledModel.load(path, context.space)
        trained_for = self.model.task
        if self.check_task and trained_for and trained_for != context.task.name:
            raise ConfigError(
                f"Distill-PP checkpoint {path} was distilled for task {trained_for}, not "
                f"{context.task.name}; pass task={trained_for} or distill one for "
                f"{context.task.name}"
            )

    def _model(self) -> DistilledModel:
        if self.model is None:
            raise RuntimeError(f"{self.name}.setup(context) must be called before use")
        return self.model

    def fit(self, demonstrations: Sequence[Demonstration]) -> LLMDistillPredictor:
        self.slope, self.intercept = 1.0, 0.0
        if self.calibrate and demonstrations:
            raw = self._model().predict([d.arch for d in demonstrations])
            gold = np.asarray([d.score for d in demonstrations], dtype=np.float64)
            self.slope, self.intercept = fit_line(raw, gold)
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        raw = self._model().predict(list(archs))
        return self.slope * raw + self.intercept

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        """Scores for rows already encoded with ``self.model.encoder`` (the fastest path)."""
        return self.slope * self._model().predict_features(features) + self.intercept

    def close(self) -> None:
        self.model = None
