"""Search logging through the project's Lightning loggers (``conf/logger``).

``SearchTracker`` is a search listener that adapts whatever ``logger=`` built — a
``WandbLogger``, a ``CSVLogger`` or nothing — to the search's events: per-iteration
metrics, a table of scored architectures, summary metrics and the Pareto plot. The
same adapter serves ``llmpp search`` (its own W&B run) and the ``SearchCallback``
(the trainer's run, under a ``search/`` prefix).

Scores of different predictors live on different scales (Distill-PP predicts BLEU,
the supernet a negative loss), so every score metric is keyed by its predictor and
the phase (which predictor ranks) is logged on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmpp.search.listener import SearchListener
from llmpp.tracking.loggers import finish_logger, is_wandb

log = logging.getLogger(__name__)


class SearchTracker(SearchListener):
    """Sends search events to a Lightning logger (``None``/``False``: nowhere).

    Args:
        logger: a Lightning logger or ``None``.
        prefix: metric name prefix (``search/`` keeps them apart from training).
        owns_logger: whether the search finishes the logger (False under a Trainer,
            which logs training steps and finishes its own logger).
        step_offset: added to iteration numbers used as logging steps.
    """

    def __init__(
        self, logger: Any = None, *, prefix: str = "search/", owns_logger: bool = True,
        step_offset: int = 0,
    ) -> None:
        self.logger = logger or None
        self.prefix = prefix
        self.owns_logger = owns_logger
        self.step_offset = step_offset
        self.predictor_names: list[str] = []

    def on_search_start(self, algorithm: Any) -> None:
        self.predictor_names = list(algorithm.predictors())

    def log_config(self, config: dict[str, Any]) -> None:
        if self.logger is not None and self.owns_logger:
            self.logger.log_hyperparams(config)

    def on_iteration_end(self, record: dict[str, Any], totals: dict[str, Any]) -> None:
        """Best/mean score under the predictor's own key, the phase, evaluations, seconds, cost."""
        if self.logger is None:
            return
        p, name = self.prefix, record["predictor"]
        metrics: dict[str, float] = {
            f"{p}iteration": record["iteration"],
            f"{p}best_score/{name}": record["best_score"],
            f"{p}mean_score/{name}": record["mean_score"],
            f"{p}iteration_evaluations": record["evaluations"],
            f"{p}iteration_seconds": record["wall_seconds"],
            f"{p}elapsed_seconds": totals["elapsed"],
        }
        names = self.predictor_names or sorted(totals["evaluations"])
        if name in names:
            metrics[f"{p}phase"] = names.index(name)  # 0 = the first predictor the search uses
        for other in sorted(totals["evaluations"]):
            metrics[f"{p}evaluations/{other}"] = totals["evaluations"][other]
            metrics[f"{p}seconds/{other}"] = totals["seconds"][other]
            for key, value in totals["cost"].get(other, {}).items():
                if isinstance(value, int | float):
                    metrics[f"{p}cost/{other}/{key}"] = value
        # Under a Trainer the logger's steps are training steps: let it pick the step.
        step = self.step_offset + record["iteration"] if self.owns_logger else None
        self.logger.log_metrics(metrics, step=step)

    def log_table(self, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if is_wandb(self.logger):
            self.logger.log_table(key=f"{self.prefix}{key}", columns=list(columns),
                                  data=[list(r) for r in rows])

    def log_image(self, key: str, path: Path) -> None:
        if is_wandb(self.logger) and Path(path).is_file():
            self.logger.log_image(key=f"{self.prefix}{key}", images=[str(path)])

    def log_summary(self, summary: dict[str, Any]) -> None:
        if self.logger is None:
            return
        clean = {f"{self.prefix}{k}": v for k, v in summary.items() if isinstance(v, int | float)}
        if is_wandb(self.logger):
            self.logger.experiment.summary.update(clean)
        else:
            self.logger.log_metrics(clean)

    def finish(self) -> None:
        if self.logger is not None and self.owns_logger:
            finish_logger(self.logger)
