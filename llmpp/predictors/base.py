"""The one contract every performance predictor implements.

A predictor is prepared for a task (``setup``), learns from demonstrations
(``fit``: architectures with gold scores) and scores new architectures
(``predict``: higher is better, in the gold's units where it can). Predictors that
pay for calls report them through ``cost``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from llmpp.gold.records import GoldRecord
from llmpp.metrics.efficiency import Efficiency, efficiency
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace
from llmpp.task import TaskSpec


@dataclass(frozen=True)
class Demonstration:
    """An architecture with its gold score (BLEU for the paper's tasks)."""

    arch: Architecture
    score: float


@dataclass
class TaskContext:
    """What a predictor may know about the task besides its demonstrations.

    ``records`` are every gold record of the task the harness has loaded (the
    ``recorded`` predictor replays their columns); ``seed`` is the protocol seed.
    """

    task: TaskSpec
    space: SearchSpace | None = None
    records: Sequence[GoldRecord] = field(default_factory=tuple)
    seed: int = 0
    run_dir: str | None = None

    @cached_property
    def _records_by_key(self) -> dict[str, GoldRecord]:
        return {r.arch.key(): r for r in self.records}

    def record_of(self, arch: Architecture) -> GoldRecord | None:
        return self._records_by_key.get(arch.key())

    def efficiency(self, arch: Architecture) -> Efficiency:
        qkv = self.space.qkv_dim if self.space is not None else 512
        return efficiency(arch, self.task.vocab_size, qkv)


class Predictor(ABC):
    """Scores architectures; see the module docstring for the protocol."""

    context: TaskContext | None = None

    def setup(self, context: TaskContext) -> None:
        """Bind the predictor to a task before ``fit``; override to add more."""
        self.context = context

    @abstractmethod
    def fit(self, demonstrations: Sequence[Demonstration]) -> Predictor:
        """Learn from demonstrations; returns ``self``."""

    @abstractmethod
    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        """One float per architecture (NaN marks a recorded failure)."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def cost(self) -> dict[str, float]:
        """Calls, cache hits, tokens and USD spent so far (empty when free)."""
        return {}

    def close(self) -> None:  # noqa: B027 - an optional hook, not abstract
        """Release resources (servers, files); safe to call twice."""

    def _require_context(self) -> TaskContext:
        if self.context is None:
            raise RuntimeError(f"{self.name}.setup(context) must be called before use")
        return self.context


def as_scores(values: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)
