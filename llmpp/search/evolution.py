"""HAT's evolutionary search: keep the best parents, refill by mutation and crossover.

Each iteration scores the whole population, keeps the top ``parents``, and builds
the next population from them plus ``mutations`` mutated and ``crossovers``
crossed-over children. Children satisfy the constraint (checked at generation,
as HAT does) and are unique within the population. Parents carried over keep their
memoised scores, so only the children cost predictor calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmpp.constraints import Constraint
from llmpp.search.base import Scored, SearchAlgorithm, arch_from_dict, top_k
from llmpp.search.operators import Crossover, Generator, Mutation, Sampling
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace


class Evolution(SearchAlgorithm):
    """HAT's defaults: population 125, parents 25, 50 mutations, 50 crossovers, p=0.3.

    Args:
        space, constraint, seed, iterations, predictor: see ``SearchAlgorithm``.
        population_size: size of the first (random) population.
        parents: how many of the best survive each iteration (None: a fifth of the
            population, HAT's 25 of 125).
        mutations: children made by mutation per iteration (None: half the rest).
        crossovers: children made by crossover per iteration (None: the other half).
        mutation_prob: per-gene resampling probability (ignored if ``mutation`` given).
        mutation, crossover, sampling, generator: injected strategies.
    """

    name = "evolution"

    def __init__(
        self,
        *,
        space: SearchSpace,
        constraint: Constraint | None = None,
        seed: int = 0,
        iterations: int = 30,
        predictor: str = "supernet",
        population_size: int = 125,
        parents: int | None = None,
        mutations: int | None = None,
        crossovers: int | None = None,
        mutation_prob: float = 0.3,
        mutation: Mutation | None = None,
        crossover: Crossover | None = None,
        sampling: Sampling | None = None,
        generator: Generator | None = None,
    ) -> None:
        super().__init__(
            space=space,
            constraint=constraint,
            seed=seed,
            iterations=iterations,
            predictor=predictor,
        )
        # HAT's proportions (25 + 50 + 50 = 125) for any population size left unset.
        if parents is None:
            parents = max(1, int(population_size) // 5)
        rest = max(0, int(population_size) - int(parents))
        if mutations is None:
            mutations = rest - rest // 2
        if crossovers is None:
            crossovers = rest // 2
        if min(population_size, parents) < 1 or min(mutations, crossovers) < 0:
            raise ValueError("population_size and parents must be >= 1, children >= 0")
        self.population_size = int(population_size)
        self.parents = min(int(parents), self.population_size)
        self.mutations = int(mutations)
        self.crossovers = int(crossovers)
        self.mutation = mutation or Mutation(prob=mutation_prob)
        self.crossover = crossover or Crossover()
        self.sampling = sampling or Sampling()
        self.generator = generator or Generator(constraint=self.constraint)
        self.candidates: list[Architecture] | None = None
        self.last_scored: list[Scored] = []

    def seed_population(self, archs: Sequence[Architecture]) -> int:
        """The first population: the given architectures that are valid, new and satisfy the
        constraint (at most ``population_size``), filled up with random samples."""
        if self.candidates is not None:
            raise ValueError("seed_population must come before the first ask")
        taken: dict[str, Architecture] = {}
        for arch in archs:
            if len(taken) == self.population_size:
                break
            if self.space.contains(arch) and self.constraint.is_satisfied(arch):
                taken.setdefault(arch.key(), arch)
        fill = self.generator.generate(
            lambda rng: self.sampling(self.space, rng), self.population_size - len(taken),
            self.rng, set(taken),
        )
        self.candidates = [*taken.values(), *fill]
        return len(taken)

    def ask(self) -> list[Architecture]:
        if self.candidates is None:
            # The first population is drawn lazily so the constructor stays cheap.
            self.candidates = self.generator.generate(
                lambda rng: self.sampling(self.space, rng), self.population_size, self.rng, set()
            )
        return list(self.candidates)

    def _tell(self, scored: list[Scored]) -> None:
        predictor = self.predictor()
        self.last_scored = scored
        self._update_best(scored, predictor)
        survivors = top_k(scored, self.parents)
        self._observe(survivors)
        if self.iteration + 1 >= self.iterations:
            self.candidates = [s.arch for s in scored]
            return
        self.candidates = self._next_population([s.arch for s in survivors])

    def _observe(self, survivors: list[Scored]) -> None:
        """Hook for schedules that watch the parents (HS-NAS's adaptive switch)."""

    def _next_population(self, parents: list[Architecture]) -> list[Architecture]:
        seen = {a.key() for a in parents}
        children = self.generator.generate(
            lambda rng: self.mutation(self.space, parents, rng), self.mutations, self.rng, seen
        )
        children += self.generator.generate(
            lambda rng: self.crossover(self.space, parents, rng), self.crossovers, self.rng, seen
        )
        return parents + children

    def population(self) -> list[Scored]:
        return top_k(self.last_scored, len(self.last_scored))

    def _extra_state(self) -> dict[str, Any]:
        return {
            "candidates": None
            if self.candidates is None
            else [a.as_dict() for a in self.candidates],
            "last_scored": [s.as_dict() for s in self.last_scored],
        }

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        cands = state.get("candidates")
        self.candidates = None if cands is None else [arch_from_dict(a) for a in cands]
        self.last_scored = [Scored.from_dict(s) for s in state.get("last_scored", [])]
