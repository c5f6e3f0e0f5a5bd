"""HAT's evolutionary search: keep the best parents, refill by mutation and crossover.

Each iteration scores the whole population, keeps the top ``parents``, and builds
the next population from them plus ``mutations`` mutated and ``crossovers``
crossed-over children. Children satisfy the constraint (checked at generation,
as HAT does). Parents carried over keep their memoised scores, so only the children
cost predictor calls.

Two of HAT's and the authors' conventions are options (``genes``, ``unique``):

* ``genes="kept"`` (HAT's): every individual carries its whole gene, inactive layers'
  values included, so a layer re-activated by mutation or crossover gets its old
  values back; ``"padded"`` (llmpp's option) rebuilds a parent's gene from its
  architecture, inactive layers set to each field's first choice.
* ``unique=False`` (the authors' ``deduppopu=0``): a child may repeat an architecture
  already in the population (it costs no predictor call: scores are memoised);
  ``True`` (llmpp's option) draws again instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmpp.constraints import Constraint
from llmpp.errors import ConfigError
from llmpp.search.base import Scored, SearchAlgorithm, arch_from_dict, top_k
from llmpp.search.operators import Crossover, Generator, Mutation, Sampling
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace

GENES = ("padded", "kept")


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
        genes: ``kept`` (HAT's whole genes) or ``padded`` (llmpp's option); see above.
        unique: children never repeat an architecture of the population (llmpp's
            option) or may (False, the authors'); ignored if ``generator`` given.
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
        genes: str = "padded",
        unique: bool = True,
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
        if genes not in GENES:
            raise ConfigError(f"search.genes={genes!r} is unknown; choose one of: "
                              f"{', '.join(GENES)}")
        self.genes = genes
        self.population_size = int(population_size)
        self.parents = min(int(parents), self.population_size)
        self.mutations = int(mutations)
        self.crossovers = int(crossovers)
        self.mutation = mutation or Mutation(prob=mutation_prob)
        self.crossover = crossover or Crossover()
        self.sampling = sampling or Sampling()
        self.generator = generator or Generator(constraint=self.constraint, unique=unique)
        self.candidates: list[Architecture] | None = None
        # genes="kept": each candidate's whole gene, in the order of ``candidates``.
        self.candidate_genes: list[list[int]] | None = None
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
        fill = self._random(self.population_size - len(taken), set(taken))
        self._set_population([(a, self.space.to_gene(a)) for a in taken.values()] + fill)
        return len(taken)

    def _random(self, n: int, seen: set[str]) -> list[tuple[Architecture, list[int]]]:
        if self.genes == "kept":
            return self.generator.generate_genes(
                lambda rng: self.sampling.gene(self.space, rng), n, self.rng, seen,
                decode=self.space.from_gene)
        return [(a, None) for a in self.generator.generate(
            lambda rng: self.sampling(self.space, rng), n, self.rng, seen)]

    def _set_population(self, members: list[tuple[Architecture, list[int] | None]]) -> None:
        self.candidates = [a for a, _ in members]
        self.candidate_genes = None
        if self.genes == "kept":
            self.candidate_genes = [g if g is not None else self.space.to_gene(a)
                                    for a, g in members]

    def ask(self) -> list[Architecture]:
        if self.candidates is None:
            # The first population is drawn lazily so the constructor stays cheap.
            self._set_population(self._random(self.population_size, set()))
        return list(self.candidates)

    def _tell(self, scored: list[Scored]) -> None:
        predictor = self.predictor()
        self.last_scored = scored
        self._update_best(scored, predictor)
        survivors = top_k(scored, self.parents)
        position = {id(s): i for i, s in enumerate(scored)}
        kept = [position[id(s)] for s in survivors]  # where each parent's gene is
        self._observe(survivors)
        if self.iteration + 1 >= self.iterations:
            self.candidates = [s.arch for s in scored]
            return
        genes = self.candidate_genes
        if self.genes == "kept" and genes is not None and len(genes) == len(scored):
            parent_genes = [genes[i] for i in kept]
        else:  # padded genes (or a state saved without them)
            parent_genes = [self.space.to_gene(s.arch) for s in survivors]
        self._set_population(self._next_population([s.arch for s in survivors], parent_genes))

    def _observe(self, survivors: list[Scored]) -> None:
        """Hook for schedules that watch the parents (HS-NAS's adaptive switch)."""

    def _next_population(
        self, parents: list[Architecture], parent_genes: list[list[int]]
    ) -> list[tuple[Architecture, list[int] | None]]:
        seen = {a.key() for a in parents}
        if self.genes == "kept":
            decode, space = self.space.from_gene, self.space
            children = self.generator.generate_genes(
                lambda rng: self.mutation.gene(space, parent_genes, rng), self.mutations,
                self.rng, seen, decode=decode)
            children += self.generator.generate_genes(
                lambda rng: self.crossover.gene(space, parent_genes, rng), self.crossovers,
                self.rng, seen, decode=decode)
            return list(zip(parents, parent_genes, strict=True)) + children
        children = self.generator.generate(
            lambda rng: self.mutation(self.space, parents, rng), self.mutations, self.rng, seen
        )
        children += self.generator.generate(
            lambda rng: self.crossover(self.space, parents, rng), self.crossovers, self.rng, seen
        )
        return [(a, None) for a in parents + children]

    def population(self) -> list[Scored]:
        return top_k(self.last_scored, len(self.last_scored))

    def _extra_state(self) -> dict[str, Any]:
        return {
            "candidates": None
            if self.candidates is None
            else [a.as_dict() for a in self.candidates],
            "last_scored": [s.as_dict() for s in self.last_scored],
            "candidate_genes": self.candidate_genes,
        }

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        cands = state.get("candidates")
        self.candidates = None if cands is None else [arch_from_dict(a) for a in cands]
        self.last_scored = [Scored.from_dict(s) for s in state.get("last_scored", [])]
        genes = state.get("candidate_genes")
        self.candidate_genes = None if genes is None else [list(map(int, g)) for g in genes]
