"""Variation operators and constraint-aware generation, injected into searches.

Each operator is a small object over ``SearchSpace.sample/mutate/crossover`` so a
search can swap one without subclassing. ``Generator`` turns any operator into a
batch of new architectures that satisfy the constraint and repeat nothing seen,
with a cap on tries: a tight constraint yields fewer proposals, never a hang.
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


class Crossover:
    """Uniform crossover of two distinct random parents (one parent: a copy)."""

    def __call__(
        self, space: SearchSpace, parents: Sequence[Architecture], rng: np.random.Generator
    ) -> Architecture:
        if len(parents) < 2:
            return parents[0]
        i, j = rng.choice(len(parents), size=2, replace=False)
        return space.crossover(parents[int(i)], parents[int(j)], rng)


class Generator:
    """Draws new, constraint-satisfying, unseen architectures with a retry cap.

    Args:
        constraint: proposals must satisfy it.
        max_tries_per_arch: attempts allowed per requested architecture.
    """

    def __init__(
        self, *, constraint: Constraint | None = None, max_tries_per_arch: int = 200
    ) -> None:
        self.constraint = constraint if constraint is not None else NoConstraint()
        self.max_tries_per_arch = int(max_tries_per_arch)

    def generate(
        self,
        draw: Callable[[np.random.Generator], Architecture],
        n: int,
        rng: np.random.Generator,
        seen: set[str],
    ) -> list[Architecture]:
        """Up to ``n`` new architectures; their keys are added to ``seen``."""
        out: list[Architecture] = []
        tries = 0
        budget = max(1, n * self.max_tries_per_arch)
        while len(out) < n and tries < budget:
            tries += 1
            arch = draw(rng)
            key = arch.key()
            if key in seen or not self.constraint.is_satisfied(arch):
                continue
            seen.add(key)
            out.append(arch)
        if len(out) < n:
            log.warning(
                "generated %d of %d architectures in %d tries: the constraint is tight or "
                "the space is nearly exhausted",
                len(out),
                n,
                tries,
            )
        return out
