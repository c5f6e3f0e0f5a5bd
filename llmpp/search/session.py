"""One search run from built objects: predictors, constraint, runner, outputs, logging.

Made by ``llmpp.stages.searching.SearchBuilder`` (the one place a search is assembled)
for ``llmpp search`` (predictors loaded from checkpoints) and the Lightning
``SearchCallback`` (the supernet predictor is the module being trained), so both
write the same artifacts. It receives objects, never a stage's config; the
settings' values (``tracking.table_rows``...) are the config's, written once in
``conf/steps/search.yaml``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmpp.constraints import NoConstraint
from llmpp.predictors.base import Predictor, TaskContext
from llmpp.search.base import SearchAlgorithm
from llmpp.search.memo import MemoScorer
from llmpp.search.outputs import arch_metrics, describe_constraint, search_payload, write_outputs
from llmpp.search.runner import SearchRunner
from llmpp.search.tracking import SearchTracker
from llmpp.space.search_space import SearchSpace
from llmpp.task import TaskSpec
from llmpp.utils.secrets import scrub

log = logging.getLogger(__name__)


def prepare_predictors(
    predictors: Mapping[str, Predictor], *, task: TaskSpec, space: SearchSpace, seed: int,
    run_dir: Path,
) -> dict[str, Predictor]:
    """Set every predictor up for the task and space (they are fitted on no demonstrations)."""
    context = TaskContext(task=task, space=space, seed=int(seed), run_dir=str(run_dir))
    for predictor in predictors.values():
        predictor.setup(context)
        predictor.fit([])
    return dict(predictors)


class SearchSession:
    """Runs one search in ``out_dir`` and writes its outputs.

    Args:
        out_dir: the search's directory (state file, search.json, best arch YAML...).
        algorithm: the ask/tell search, built for ``space`` and ``constraint``.
        predictors: set-up predictors by the names the algorithm asks for.
        task: the task (vocabulary size for efficiency metrics).
        space: the search space.
        constraint: the bound constraint, or None.
        hardware: the hardware target's name (file names, search.json).
        tracker: where metrics go (a ``SearchTracker``; None: nowhere).
        config: the (scrubbed) settings logged as the run's config.
        table_rows: scored architectures in the logged table (None: all).
        progress: show progress over iterations.
        extra: more fields for ``search.json`` (e.g. how the first population was made).
    """

    def __init__(
        self,
        *,
        out_dir: Path,
        algorithm: SearchAlgorithm,
        predictors: Mapping[str, Predictor],
        task: TaskSpec,
        space: SearchSpace,
        constraint: Any,
        hardware: str,
        tracker: SearchTracker | None,
        config: dict[str, Any] | None,
        table_rows: int | None,
        progress: bool,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.algorithm, self.predictors = algorithm, dict(predictors)
        self.task, self.space, self.constraint = task, space, constraint
        self.hardware = hardware
        self.tracker = tracker or SearchTracker(None)
        self.config = scrub(config or {})
        self.table_rows = table_rows
        self.progress = progress
        self.extra = dict(extra or {})

    def run(self) -> dict[str, Any]:
        """Search (resuming saved state), write outputs, log; returns search.json's payload."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.tracker.log_config(self.config)
        scorer = MemoScorer(self.predictors)
        runner = SearchRunner(
            algorithm=self.algorithm, scorer=scorer, run_dir=self.out_dir,
            listeners=[self.tracker], progress=self.progress,
        )
        result = runner.run(resume=True)
        constraint = self.constraint if self.constraint is not None else NoConstraint()
        metrics = (
            arch_metrics(result.best.arch, self.task.vocab_size, self.space.qkv_dim, constraint)
            if result.best is not None else {}
        )
        payload = search_payload(
            result, task=self.task.name, hardware=self.hardware,
            constraint=describe_constraint(constraint), metrics=metrics,
            extra={"space": self.space.name, "space_hash": self.space.hash(), **self.extra},
        )
        paths = write_outputs(self.out_dir, payload, result, hardware=self.hardware,
                              pareto=self.algorithm.pareto(),
                              pareto_metric=self.algorithm.pareto_metric())
        payload["run_dir"] = str(self.out_dir)
        self._log_results(scorer, payload, paths)
        return payload

    def _log_results(self, scorer: MemoScorer, payload: dict[str, Any],
                     paths: dict[str, Path]) -> None:
        names = sorted(self.predictors)
        limit = self.table_rows
        rows = scorer.rows()[: limit if limit else None]
        table = []
        for row in rows:
            m = arch_metrics(row["arch"], self.task.vocab_size, self.space.qkv_dim, NoConstraint())
            table.append([row["key"], row["arch"].short(), *[row[n] for n in names],
                          m["gflops"], m["params"], str(row["arch"].to_hat())])
        self.tracker.log_table("scored_archs", ["key", "arch", *names, "gflops", "params",
                                                "hat"], table)
        best = payload["best"] or {}
        summary = {
            "best_score": best.get("score"),
            "best_latency_ms": best.get("latency_ms"),
            "best_gflops": best.get("gflops"),
            "best_params": best.get("params"),
            "search_seconds": payload["wall_seconds"]["total"],
            **{f"evaluations/{k}": v for k, v in payload["evaluations"]["by_predictor"].items()},
        }
        self.tracker.log_summary({k: v for k, v in summary.items() if v is not None})
        for key in ("pareto", "scores"):  # every plot the search wrote, as a W&B image
            if f"{key}_png" in paths:
                self.tracker.log_image(key, paths[f"{key}_png"])

    def close(self) -> None:
        self.tracker.finish()
        for predictor in self.predictors.values():
            predictor.close()
