"""Search logging through the project's Lightning loggers (``conf/logger``).

``SearchTracker`` adapts whatever ``logger=`` built — a ``WandbLogger``, a
``CSVLogger`` or nothing — to the search's events: per-iteration metrics, a table
of scored architectures, summary metrics and the Pareto plot. The same adapter
serves ``llmpp search`` and the ``SearchCallback`` (which uses the trainer's logger).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _is_wandb(logger: Any) -> bool:
    return type(logger).__name__ == "WandbLogger"


class SearchTracker:
    """Sends search events to a Lightning logger (``None``/``False``: nowhere).

    Args:
        logger: a Lightning logger or ``None``.
        prefix: metric name prefix (``search/`` keeps them apart from training).
    """

    def __init__(self, logger: Any = None, *, prefix: str = "search/") -> None:
        self.logger = logger or None
        self.prefix = prefix
        self.step_offset = 0
        self.owns_logger = True  # False when a Trainer owns (and finishes) the logger

    def log_config(self, config: dict[str, Any]) -> None:
        if self.logger is not None:
            self.logger.log_hyperparams(config)

    def log_iteration(self, record: dict[str, Any], totals: dict[str, Any]) -> None:
        """Best/mean score, predictor in use, evaluations, seconds and LLM cost so far."""
        if self.logger is None:
            return
        p = self.prefix
        metrics: dict[str, float] = {
            f"{p}iteration": record["iteration"],
            f"{p}best_score": record["best_score"],
            f"{p}mean_score": record["mean_score"],
            f"{p}iteration_evaluations": record["evaluations"],
            f"{p}iteration_seconds": record["wall_seconds"],
            f"{p}elapsed_seconds": totals["elapsed"],
        }
        names = sorted(totals["evaluations"])
        for i, name in enumerate(names):
            metrics[f"{p}evaluations/{name}"] = totals["evaluations"][name]
            metrics[f"{p}seconds/{name}"] = totals["seconds"][name]
            if record["predictor"] == name:
                metrics[f"{p}predictor_index"] = i  # which predictor ranked (a number)
            for key, value in totals["cost"].get(name, {}).items():
                if isinstance(value, int | float):
                    metrics[f"{p}cost/{name}/{key}"] = value
        # Under a Trainer the logger's steps are training steps: let it pick the step.
        step = self.step_offset + record["iteration"] if self.owns_logger else None
        self.logger.log_metrics(metrics, step=step)

    def log_table(self, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if _is_wandb(self.logger):
            self.logger.log_table(key=f"{self.prefix}{key}", columns=list(columns),
                                  data=[list(r) for r in rows])

    def log_image(self, key: str, path: Path) -> None:
        if _is_wandb(self.logger) and Path(path).is_file():
            self.logger.log_image(key=f"{self.prefix}{key}", images=[str(path)])

    def log_summary(self, summary: dict[str, Any]) -> None:
        if self.logger is None:
            return
        clean = {f"{self.prefix}{k}": v for k, v in summary.items() if isinstance(v, int | float)}
        if _is_wandb(self.logger):
            self.logger.experiment.summary.update(clean)
        else:
            self.logger.log_metrics(clean)

    def finish(self) -> None:
        if self.logger is None or not self.owns_logger:
            return
        self.logger.finalize("success")
        if _is_wandb(self.logger):
            import wandb

            wandb.finish()
