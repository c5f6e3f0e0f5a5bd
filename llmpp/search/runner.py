"""Drive a search: ask, score through the memo, tell, save, log — resumably.

After every iteration the whole state (algorithm incl. population and RNG, memo,
history, schedule position) is written atomically to ``<run_dir>/search_state.json``;
``SearchRunner.run(resume=True)`` continues from it and ends with exactly the
result an uninterrupted run with the same seed would have (wall times aside).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from llmpp.errors import ConfigError, CorruptFileError
from llmpp.metrics.ranking import constant_scores, constant_warning
from llmpp.search.base import SearchAlgorithm
from llmpp.search.listener import SearchListener
from llmpp.search.memo import MemoScorer
from llmpp.search.result import SearchResult
from llmpp.utils.io import write_json
from llmpp.utils.progress import progress_bar

log = logging.getLogger(__name__)
STATE_FILE = "search_state.json"


def _finite_mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


class SearchRunner:
    """Runs ``algorithm`` with the predictors of ``scorer``, saving into ``run_dir``.

    Args:
        algorithm: the ask/tell search.
        scorer: the memoising scorer holding every predictor the search names.
        run_dir: where the state file goes (``None``: nothing saved).
        listeners: callbacks told about the search's start, iterations and end.
        progress: show a progress bar over iterations.
    """

    def __init__(
        self,
        *,
        algorithm: SearchAlgorithm,
        scorer: MemoScorer,
        run_dir: str | Path | None = None,
        listeners: Sequence[SearchListener] = (),
        progress: bool = True,
    ) -> None:
        self.algorithm = algorithm
        self.scorer = scorer
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.listeners = list(listeners)
        self.progress = progress
        self.history: list[dict[str, Any]] = []
        self.elapsed = 0.0
        self._warned: set[str] = set()
        scorer.require(algorithm.predictors())

    @property
    def state_path(self) -> Path | None:
        return self.run_dir / STATE_FILE if self.run_dir is not None else None

    # ---- state ----------------------------------------------------------------------
    def save(self) -> None:
        if self.state_path is None:
            return
        write_json(
            self.state_path,
            {
                "version": 1,
                "algorithm": self.algorithm.state_dict(),
                "memo": self.scorer.state_dict(),
                "history": self.history,
                "elapsed": self.elapsed,
            },
        )

    def load(self) -> bool:
        """Restore the saved state if there is one; returns whether it did."""
        path = self.state_path
        if path is None or not path.is_file():
            return False
        try:
            state = json.loads(path.read_text())
            self.algorithm.load_state_dict(state["algorithm"])
        except (json.JSONDecodeError, KeyError) as exc:
            raise CorruptFileError(f"{path} is not a readable search state ({exc}); delete it "
                                   "to start over") from None
        except ValueError as exc:
            raise ConfigError(f"{path}: {exc}; resume with the run's own config") from None
        self.scorer.load_state_dict(state["memo"])
        self.history = list(state["history"])
        self.elapsed = float(state["elapsed"])
        log.info("resumed %s at iteration %d", self.algorithm.name, self.algorithm.iteration)
        return True

    # ---- loop -----------------------------------------------------------------------
    def step(self) -> dict[str, Any]:
        """One ask / score / tell round; returns the iteration's history record."""
        algo = self.algorithm
        started = time.perf_counter()
        name = algo.predictor()
        evaluations_before = self.scorer.evaluations[name]
        seconds_before = self.scorer.seconds[name]
        archs = algo.ask()
        scores = self.scorer.score(name, archs)
        record = {
            "iteration": algo.iteration,
            "predictor": name,
            "best_score": float(np.nanmax(scores)) if np.isfinite(scores).any() else float("nan"),
            "mean_score": _finite_mean(scores),
            "candidates": len(archs),
            "evaluations": self.scorer.evaluations[name] - evaluations_before,
            "predictor_seconds": self.scorer.seconds[name] - seconds_before,
            "constant_scores": constant_scores(scores),
        }
        if record["constant_scores"] and name not in self._warned:
            self._warned.add(name)  # one line per predictor, not one per iteration
            log.warning(constant_warning(f"search: predictor {name} at iteration "
                                         f"{algo.iteration}", len(archs)))
        algo.tell(archs, scores)
        record["wall_seconds"] = time.perf_counter() - started
        self.elapsed += record["wall_seconds"]
        return record

    def run(self, *, resume: bool = True) -> SearchResult:
        """Run to the end (continuing saved state when ``resume``)."""
        if resume:
            self.load()
        algo = self.algorithm
        algo.warm_start(self.scorer.score)  # a no-op once done (it is part of the state)
        for listener in self.listeners:
            listener.on_search_start(algo)
        bar = progress_bar(
            total=algo.iterations,
            initial=algo.iteration,
            desc=f"search {algo.name}",
            disable=not self.progress,
        )
        try:
            while not algo.done:
                record = self.step()
                self.history.append(record)
                self.save()
                for listener in self.listeners:
                    listener.on_iteration_end(record, self._totals())
                bar.update(1)
                bar.set_postfix(best=f"{record['best_score']:.3f}", predictor=record["predictor"])
        finally:
            bar.close()
        result = self.result()
        for listener in self.listeners:
            listener.on_search_end(result)
        return result

    def _totals(self) -> dict[str, Any]:
        return {
            "evaluations": dict(self.scorer.evaluations),
            "seconds": dict(self.scorer.seconds),
            "cache_hits": dict(self.scorer.hits),
            "elapsed": self.elapsed,
            "cost": self.scorer.cost(),
        }

    def result(self) -> SearchResult:
        algo = self.algorithm
        return SearchResult(
            algorithm=algo.name,
            seed=algo.seed,
            best=algo.best,
            best_predictor=algo.best_predictor,
            population=algo.population(),
            history=list(self.history),
            wall_seconds={"total": self.elapsed, "by_predictor": dict(self.scorer.seconds)},
            evaluations={name: int(n) for name, n in self.scorer.evaluations.items()},
            cost=self.scorer.cost(),
            extra=algo.describe(),
            cache_hits=dict(self.scorer.hits),
            constant_scores=sorted(
                {r["predictor"] for r in self.history if r.get("constant_scores")}
            ),
        )
