"""``SearchListener``: the callbacks a search runner calls while it runs.

Listeners watch a search without steering it: the tracker that logs metrics to W&B or
CSV, a progress display, a test that records which predictor ranked which iteration.
Every hook has a do-nothing default, so a listener overrides only what it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmpp.search.base import SearchAlgorithm
    from llmpp.search.result import SearchResult


class SearchListener:
    """Base class of the runner's callbacks (see the module docstring)."""

    def on_search_start(self, algorithm: SearchAlgorithm) -> None:
        """Before the first iteration of this run (also when resuming)."""

    def on_iteration_end(self, record: dict[str, Any], totals: dict[str, Any]) -> None:
        """After each iteration's ``tell`` and the state save.

        Args:
            record: the iteration's history entry: ``iteration``, ``predictor``,
                ``best_score``, ``mean_score``, ``candidates``, ``evaluations``,
                ``predictor_seconds``, ``wall_seconds``, ``constant_scores``.
            totals: running totals: ``evaluations``, ``seconds`` and ``cache_hits`` by
                predictor, ``elapsed`` seconds, ``cost`` by predictor.
        """

    def on_search_end(self, result: SearchResult) -> None:
        """After the last iteration, with the finished result."""
