"""Scores memoised per (predictor, architecture), with batched calls and accounting.

HAT re-scores every parent every iteration; here a parent carried into the next
iteration costs nothing, and all unscored candidates of an iteration go to the
predictor in one ``predict`` call (one batched supernet pass, one distill forward).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from llmpp.errors import ConfigError
from llmpp.predictors.base import Predictor
from llmpp.space.architecture import Architecture


class MemoScorer:
    """Scores architectures with named predictors, each architecture once per predictor.

    Args:
        predictors: predictor name (as the search asks for it) -> fitted predictor.
    """

    def __init__(self, predictors: Mapping[str, Predictor]) -> None:
        self.predictors = dict(predictors)
        self.memo: dict[str, dict[str, float]] = {name: {} for name in self.predictors}
        self.evaluations: dict[str, int] = {name: 0 for name in self.predictors}
        self.calls: dict[str, int] = {name: 0 for name in self.predictors}
        self.hits: dict[str, int] = {name: 0 for name in self.predictors}  # memo answers
        self.seconds: dict[str, float] = {name: 0.0 for name in self.predictors}
        self.archs: dict[str, Architecture] = {}  # every scored architecture by key
        # A resumed search: each predictor's cost as saved, and as it stood when loaded. A
        # memoised architecture never reaches its predictor again, so the cost of the work
        # before the restart lives only in the saved state.
        self._saved_cost: dict[str, dict[str, float]] = {}
        self._cost_at_load: dict[str, dict[str, float]] = {}

    def require(self, names: Sequence[str]) -> None:
        """Fail early, with the fix, when the search needs a predictor not configured."""
        missing = [n for n in names if n not in self.predictors]
        if missing:
            raise ConfigError(
                f"the search needs predictor {missing[0]!r} but only "
                f"{', '.join(sorted(self.predictors)) or 'none'} are configured; "
                f"add it under search.predictors"
            )

    def score(self, name: str, archs: Sequence[Architecture]) -> np.ndarray:
        """One score per architecture; only the unseen ones reach the predictor."""
        self.require([name])
        memo = self.memo[name]
        keys = [a.key() for a in archs]
        todo: dict[str, Architecture] = {}
        for key, arch in zip(keys, archs, strict=True):
            if key not in memo and key not in todo:
                todo[key] = arch
        self.hits[name] += len(keys) - len(todo)
        if todo:
            started = time.perf_counter()
            values = np.asarray(self.predictors[name].predict(list(todo.values())), np.float64)
            self.seconds[name] += time.perf_counter() - started
            if values.shape != (len(todo),):
                raise RuntimeError(f"predictor {name} returned {values.shape} for {len(todo)}")
            memo.update(zip(todo, (float(v) for v in values), strict=True))
            self.archs.update(todo)
            self.evaluations[name] += len(todo)
            self.calls[name] += 1
        return np.asarray([memo[k] for k in keys], dtype=np.float64)

    def cost(self) -> dict[str, dict[str, float]]:
        """Each predictor's cost report (LLM calls, tokens, USD; supernet passes), counting
        the work done before a restart: saved + what this process added since loading."""
        return {name: self._predictor_cost(name) for name in self.predictors}

    def _predictor_cost(self, name: str) -> dict[str, float]:
        now = dict(self.predictors[name].cost())
        saved = self._saved_cost.get(name)
        if saved is None:
            return now
        at_load = self._cost_at_load.get(name, {})
        keys = list(saved) + [k for k in now if k not in saved]
        return {k: saved.get(k, 0) + now.get(k, 0) - at_load.get(k, 0) for k in keys}

    def rows(self) -> list[dict[str, Any]]:
        """One row per scored architecture: its key, arch and each predictor's score."""
        return [
            {"key": key, "arch": arch, **{n: self.memo[n].get(key) for n in self.predictors}}
            for key, arch in self.archs.items()
        ]

    def state_dict(self) -> dict[str, Any]:
        return {
            "archs": {k: a.as_dict() for k, a in self.archs.items()},
            "memo": self.memo,
            "evaluations": self.evaluations,
            "calls": self.calls,
            "hits": self.hits,
            "seconds": self.seconds,
            "cost": self.cost(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        from llmpp.search.base import arch_from_dict

        self.archs = {k: arch_from_dict(a) for k, a in state.get("archs", {}).items()}
        for name in self.predictors:
            self.memo[name] = {k: float(v) for k, v in state["memo"].get(name, {}).items()}
            self.evaluations[name] = int(state["evaluations"].get(name, 0))
            self.calls[name] = int(state["calls"].get(name, 0))
            self.hits[name] = int(state.get("hits", {}).get(name, 0))
            self.seconds[name] = float(state["seconds"].get(name, 0.0))
            if name in state.get("cost", {}):
                self._saved_cost[name] = dict(state["cost"][name])
                self._cost_at_load[name] = dict(self.predictors[name].cost())
