"""Variation operators and constraint-aware generation, injected into searches.

Each operator is a small object over ``SearchSpace.sample/mutate/crossover`` so a
search can swap one without subclassing; each also works on whole genes (``gene``:
inactive layers' values travel with the individual, as in HAT's search). ``Generator``
turns any operator into a batch of new architectures that satisfy the constraint and
(``unique``, llmpp's option) repeat nothing seen, with a cap on tries: a tight
constraint yields fewer proposals, never a hang.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from llmpp.constraints import Constraint, NoConstraint
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace

log = logging.getLogger(__name__)


class Sampling:
    """A uniformly random architecture of the space."""

    def __call__(self, space: SearchSpace, rng: np.random.Generator) -> Architecture:
        return space.sample(rng)

    def gene(self, space: SearchSpace, rng: np.random.Generator) -> list[int]:
        return space.sample_gene(rng)


class Mutation:
    """Resample each gene position of one random parent with probability ``prob``."""

    def __init__(self, *, prob: float = 0.3) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"mutation probability {prob} is not in [0, 1]")
        self.prob = float(prob)

    def __call__(
        self, space: SearchSpace, parents: Sequence[Architecture], rng: np.random.Generator
    ) -> Architecture:
        parent = parents[int(rng.integers(len(parents)))]
        return space.mutate(parent, rng, self.prob)

    def gene(
        self, space: SearchSpace, parents: Sequence[Sequence[int]], rng: np.random.Generator
    ) -> list[int]:
        """The same on whole genes: a re-activated layer gets the parent's old values."""
        parent = parents[int(rng.integers(len(parents)))]
        return space.mutate_gene(parent, rng, self.prob)


class Crossover:
    """Uniform crossover of two distinct random parents (one parent: a copy)."""

    def __call__(
        self, space: SearchSpace, parents: Sequence[Architecture], rng: np.random.Generator
    ) -> Architecture:
        if len(parents) < 2:
            return parents[0]
        i, j = rng.choice(len(parents), size=2, replace=False)
        return space.crossover(parents[int(i)], parents[int(j)], rng)

    def gene(
        self, space: SearchSpace, parents: Sequence[Sequence[int]], rng: np.random.Generator
    ) -> list[int]:
        if len(parents) < 2:
            return list(parents[0])
        i, j = rng.choice(len(parents), size=2, replace=False)
        return space.crossover_genes(parents[int(i)], parents[int(j)], rng)


class Generator:
    """Draws new, constraint-satisfying, unseen architectures with a retry cap.

    Args:
        constraint: proposals must satisfy it.
        max_tries_per_arch: attempts allowed per requested architecture.
        unique: refuse architectures already seen (llmpp's option); False keeps
            repeats, as the authors' search (``deduppopu=0``) and HAT's do.
    """

    def __init__(
        self, *, constraint: Constraint | None = None, max_tries_per_arch: int = 200,
        unique: bool = True,
    ) -> None:
        self.constraint = constraint if constraint is not None else NoConstraint()
        self.max_tries_per_arch = int(max_tries_per_arch)
        self.unique = bool(unique)

    def generate(
        self,
        draw: Callable[[np.random.Generator], Architecture],
        n: int,
        rng: np.random.Generator,
        seen: set[str],
    ) -> list[Architecture]:
        """Up to ``n`` new architectures; their keys are added to ``seen``."""
        return [arch for arch, _ in self.generate_genes(draw, n, rng, seen)]

    def generate_genes(
        self,
        draw: Callable[[np.random.Generator], Architecture | list[int]],
        n: int,
        rng: np.random.Generator,
        seen: set[str],
        decode: Callable[[list[int]], Architecture] | None = None,
    ) -> list[tuple[Architecture, list[int] | None]]:
        """As ``generate`` for a ``draw`` of whole genes (decoded with ``decode``):
        ``(architecture, gene)`` pairs (the gene is None for architecture draws)."""
        out: list[tuple[Architecture, list[int] | None]] = []
        tries = 0
        budget = max(1, n * self.max_tries_per_arch)
        while len(out) < n and tries < budget:
            tries += 1
            drawn = draw(rng)
            gene = drawn if decode is not None else None
            arch = decode(drawn) if decode is not None else drawn
            key = arch.key()
            if (self.unique and key in seen) or not self.constraint.is_satisfied(arch):
                continue
            seen.add(key)
            out.append((arch, gene))
        if len(out) < n:
            log.warning(
                "generated %d of %d architectures in %d tries: the constraint is tight or "
                "the space is nearly exhausted",
                len(out),
                n,
                tries,
            )
        return out
