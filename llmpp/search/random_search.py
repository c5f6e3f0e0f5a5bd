"""Random search: fresh constraint-satisfying architectures every iteration."""

from __future__ import annotations

from typing import Any

from llmpp.constraints import Constraint
from llmpp.search.base import Scored, SearchAlgorithm, arch_from_dict, top_k
from llmpp.search.operators import Generator, Sampling
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace


class RandomSearch(SearchAlgorithm):
    """Uniform samples, never repeating one, best-so-far kept.

    Args:
        space, constraint, seed, iterations, predictor: see ``SearchAlgorithm``.
        population_size: architectures proposed per iteration.
        keep: how many of the best so far form the reported population.
    """

    name = "random"

    def __init__(
        self,
        *,
        space: SearchSpace,
        constraint: Constraint | None = None,
        seed: int = 0,
        iterations: int = 30,
        predictor: str = "supernet",
        population_size: int = 125,
        keep: int = 125,
        generator: Generator | None = None,
    ) -> None:
        super().__init__(
            space=space,
            constraint=constraint,
            seed=seed,
            iterations=iterations,
            predictor=predictor,
        )
        self.population_size = int(population_size)
        self.keep = int(keep)
        self.sampling = Sampling()
        self.generator = generator or Generator(constraint=self.constraint)
        self.seen: set[str] = set()
        self.candidates: list[Architecture] | None = None
        self.kept: list[Scored] = []

    def ask(self) -> list[Architecture]:
        if self.candidates is None:
            self.candidates = self.generator.generate(
                lambda rng: self.sampling(self.space, rng),
                self.population_size,
                self.rng,
                self.seen,
            )
        return list(self.candidates)

    def _tell(self, scored: list[Scored]) -> None:
        self._update_best(scored, self.predictor())
        self.kept = top_k(self.kept + scored, self.keep)
        self.candidates = None

    def population(self) -> list[Scored]:
        return list(self.kept)

    def _extra_state(self) -> dict[str, Any]:
        return {
            "seen": sorted(self.seen),
            "candidates": None
            if self.candidates is None
            else [a.as_dict() for a in self.candidates],
            "kept": [s.as_dict() for s in self.kept],
        }

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.seen = set(state["seen"])
        cands = state.get("candidates")
        self.candidates = None if cands is None else [arch_from_dict(a) for a in cands]
        self.kept = [Scored.from_dict(s) for s in state["kept"]]
