"""``SearchResult``: what a finished search found and what it cost.

Its own module so the runner that builds it and the listeners and writers that read
it depend on it without depending on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmpp.search.base import Scored


@dataclass
class SearchResult:
    """What a finished search found and what it cost."""

    algorithm: str
    seed: int
    best: Scored | None
    best_predictor: str | None
    population: list[Scored]
    history: list[dict[str, Any]]
    wall_seconds: dict[str, Any]
    evaluations: dict[str, int]
    cost: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    cache_hits: dict[str, int] = field(default_factory=dict)
    """Architectures the memo answered without calling the predictor, by predictor."""
    constant_scores: list[str] = field(default_factory=list)
    """Predictors that gave one iteration's population (nearly) constant scores."""
