"""Predictor schedules for HS-NAS: which predictor ranks each iteration.

``FixedSchedule`` is the paper's: the cheap predictor (LLM-Distill-PP) for the
first ``switch_at`` iterations, the supernet for the rest. ``AdaptiveSchedule``
switches as soon as the cheap predictor has stopped changing its mind: when the
set of surviving parents barely changes for ``patience`` iterations in a row, the
cheap predictor has converged and further iterations with it are wasted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class FixedSchedule:
    """``first`` for iterations ``< switch_at``, then ``then``.

    Args:
        first: name of the cheap predictor.
        then: name of the accurate predictor.
        switch_at: the first iteration ranked by ``then``; ``None`` = ``switch_fraction``
            of the search's iterations (0.5 of 30 = the paper's 15).
        switch_fraction: used when ``switch_at`` is ``None``.
    """

    def __init__(
        self,
        *,
        first: str = "llm_distill",
        then: str = "supernet",
        switch_at: int | None = None,
        switch_fraction: float = 0.5,
    ) -> None:
        self.first, self.then = str(first), str(then)
        self.switch_fraction = float(switch_fraction)
        self.switch_at = -1 if switch_at is None else int(switch_at)
        self.requested_switch = switch_at

    def bind(self, iterations: int) -> None:
        """Resolve a fractional switch point against the search's length."""
        if self.requested_switch is None:
            self.switch_at = int(round(self.switch_fraction * iterations))

    def predictor(self, iteration: int) -> str:
        return self.first if iteration < self.switch_at else self.then

    def observe(self, iteration: int, parent_keys: Sequence[str]) -> None:
        """Fixed schedules ignore the search's progress."""

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "fixed",
            "first": self.first,
            "then": self.then,
            "switch_at": self.switch_at,
        }

    def state_dict(self) -> dict[str, Any]:
        return {"switch_at": self.switch_at}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.switch_at = int(state["switch_at"])


class AdaptiveSchedule(FixedSchedule):
    """Switch once the parents ranked by ``first`` stop changing.

    Args:
        first, then: predictor names as in ``FixedSchedule``.
        overlap: fraction of parents shared with the previous iteration that
            counts as "unchanged".
        patience: consecutive unchanged iterations before switching.
        min_switch: never switch before this iteration.
        max_switch: switch at this iteration at the latest; ``None`` = ``switch_fraction``
            of the iterations (the fixed schedule's point).
        switch_fraction: used when ``max_switch`` is ``None``.
    """

    def __init__(
        self,
        *,
        first: str = "llm_distill",
        then: str = "supernet",
        overlap: float = 0.8,
        patience: int = 2,
        min_switch: int = 3,
        max_switch: int | None = None,
        switch_fraction: float = 0.5,
    ) -> None:
        super().__init__(
            first=first, then=then, switch_at=max_switch, switch_fraction=switch_fraction
        )
        self.overlap = float(overlap)
        self.patience = int(patience)
        self.min_switch = int(min_switch)
        self.previous: list[str] = []
        self.stable = 0
        self.overlaps: list[float] = []

    def observe(self, iteration: int, parent_keys: Sequence[str]) -> None:
        if iteration >= self.switch_at:
            return
        keys = list(parent_keys)
        if self.previous:
            shared = len(set(keys) & set(self.previous)) / max(1, len(keys))
            self.overlaps.append(shared)
            self.stable = self.stable + 1 if shared >= self.overlap else 0
        self.previous = keys
        if self.stable >= self.patience:
            self.switch_at = min(self.switch_at, max(self.min_switch, iteration + 1))

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "adaptive",
            "first": self.first,
            "then": self.then,
            "overlap": self.overlap,
            "patience": self.patience,
            "min_switch": self.min_switch,
            "switched_at": self.switch_at,
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "switch_at": self.switch_at,
            "previous": self.previous,
            "stable": self.stable,
            "overlaps": self.overlaps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.previous = list(state["previous"])
        self.stable = int(state["stable"])
        self.overlaps = [float(x) for x in state["overlaps"]]
