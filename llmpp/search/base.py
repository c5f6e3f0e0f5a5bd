"""The one interface every search algorithm implements: ask / tell with a state.

A search proceeds in iterations. ``ask`` proposes the architectures to score this
iteration (valid, in the space, satisfying the constraint, no duplicates),
``predictor`` names which predictor should score them, and ``tell`` hands the
scores back (higher is better; NaN marks a failed prediction). ``state_dict`` is
plain JSON, so a run saved after any ``tell`` resumes to exactly the same result.

Optional behaviour (a warm start before the first iteration, a description of the
search's settings, a Pareto front) is declared here with do-nothing defaults, so
callers call it on any algorithm instead of probing for it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmpp.constraints import Constraint, NoConstraint
from llmpp.errors import ConfigError
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace


@dataclass(frozen=True)
class Scored:
    """An architecture with the score one predictor gave it."""

    arch: Architecture
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {"arch": self.arch.as_dict(), "score": self.score}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scored:
        return cls(arch_from_dict(data["arch"]), float(data["score"]))


def arch_from_dict(data: dict[str, Any]) -> Architecture:
    """Inverse of ``Architecture.as_dict`` (field names, lists for layers)."""
    return Architecture(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def rank_key(score: float) -> float:
    """Sort key putting NaN (failed predictions) last among higher-is-better scores."""
    return -np.inf if np.isnan(score) else float(score)


def top_k_indices(scored: Sequence[Scored], k: int) -> list[int]:
    """Positions of the ``k`` best, stable for ties (earlier wins) so runs are reproducible."""
    order = sorted(range(len(scored)), key=lambda i: (-rank_key(scored[i].score), i))
    return order[:k]


def top_k(scored: Sequence[Scored], k: int) -> list[Scored]:
    """The ``k`` best, stable for ties (earlier wins) so runs are reproducible."""
    return [scored[i] for i in top_k_indices(scored, k)]


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """A JSON-able snapshot of a numpy Generator."""
    return rng.bit_generator.state


def restore_rng(state: dict[str, Any]) -> np.random.Generator:
    """A Generator continuing exactly where ``rng_state`` left it."""
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


class SearchAlgorithm(ABC):
    """Ask / tell search over a ``SearchSpace`` under a constraint, with one seed.

    Args:
        space: the search space every proposal lies in.
        constraint: proposals violating it are never asked (generation-time, as HAT).
        seed: the only source of randomness.
        iterations: how many ask/tell rounds make the search.
        predictor: the name of the predictor that scores every iteration.
    """

    name = "search"

    def __init__(
        self,
        *,
        space: SearchSpace,
        constraint: Constraint | None = None,
        seed: int = 0,
        iterations: int = 30,
        predictor: str = "supernet",
    ) -> None:
        self.space = space
        self.constraint = constraint if constraint is not None else NoConstraint()
        self.seed = int(seed)
        self.iterations = int(iterations)
        self.default_predictor = str(predictor)
        self.rng = np.random.default_rng(self.seed)
        self.iteration = 0
        self.best: Scored | None = None
        self.best_predictor: str | None = None

    @property
    def done(self) -> bool:
        return self.iteration >= self.iterations

    def predictor(self) -> str:
        """Name of the predictor that scores the current iteration's proposals."""
        return self.default_predictor

    def predictors(self) -> list[str]:
        """Every predictor name this search may ask for."""
        return [self.default_predictor]

    # ---- optional hooks (defaults do nothing) ----------------------------------------
    def warm_start(  # noqa: B027 - an optional hook with a do-nothing default
        self, score: Callable[[str, list[Architecture]], np.ndarray]
    ) -> None:
        """Score known architectures before the first ``ask`` (e.g. Optuna's enqueued trials).

        Args:
            score: ``(predictor name, archs) -> scores``, the runner's memoised scorer.
        """

    def seed_population(self, archs: Sequence[Architecture]) -> int:
        """Start the first population from ``archs`` (e.g. an LLM's proposals); returns how
        many were taken. Algorithms without a population refuse (``search.init=llm``)."""
        raise ConfigError(
            f"search {self.name} has no first population to seed; use search.init.kind=random "
            "or an evolutionary search (evolution, hs_nas)"
        )

    def describe(self) -> dict[str, Any]:
        """Settings worth recording in ``search.json`` (the schedule, the objective)."""
        return {}

    def pareto(self) -> list[dict[str, Any]]:
        """The Pareto front of a multi-objective search (empty for single-objective)."""
        return []

    def pareto_metric(self) -> str:
        """The efficiency metric the Pareto front trades against the score."""
        return "gflops"

    @abstractmethod
    def ask(self) -> list[Architecture]:
        """The architectures to score this iteration."""

    @abstractmethod
    def _tell(self, scored: list[Scored]) -> None:
        """Consume this iteration's scores and prepare the next proposals."""

    def tell(self, archs: Sequence[Architecture], scores: Sequence[float]) -> None:
        """Record the scores of ``ask``'s architectures; advances one iteration."""
        values = np.asarray(scores, dtype=np.float64).reshape(-1)
        if len(values) != len(archs):
            raise ValueError(f"tell got {len(values)} scores for {len(archs)} architectures")
        scored = [Scored(a, float(s)) for a, s in zip(archs, values, strict=True)]
        self._tell(scored)
        self.iteration += 1

    def _update_best(self, scored: Sequence[Scored], predictor: str) -> None:
        """Keep the best-so-far as ranked by ``predictor``.

        Scores of different predictors are not comparable, so a switch of
        predictor resets the incumbent: the result is the final predictor's best.
        """
        if not scored:
            return
        candidate = top_k(scored, 1)[0]
        if (
            self.best is None
            or predictor != self.best_predictor
            or rank_key(candidate.score) > rank_key(self.best.score)
        ):
            self.best, self.best_predictor = candidate, predictor

    def population(self) -> list[Scored]:
        """The current scored population (final population in the outputs)."""
        return [self.best] if self.best is not None else []

    # ---- state --------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue identically, as JSON types."""
        return {
            "name": self.name,
            "seed": self.seed,
            "iteration": self.iteration,
            "rng": rng_state(self.rng),
            "best": self.best.as_dict() if self.best is not None else None,
            "best_predictor": self.best_predictor,
            **self._extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state_dict``'s snapshot (same constructor arguments)."""
        if state.get("name") != self.name:
            raise ValueError(f"state of {state.get('name')!r} given to {self.name!r}")
        self.seed = int(state["seed"])
        self.iteration = int(state["iteration"])
        self.rng = restore_rng(state["rng"])
        self.best = Scored.from_dict(state["best"]) if state.get("best") else None
        self.best_predictor = state.get("best_predictor")
        self._load_extra_state(state)

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        return None
