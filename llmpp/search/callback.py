"""``SearchCallback``: run a search on the supernet being trained, in memory.

After ``fit`` (and, with ``every_n_steps``, during it) the callback ranks
architectures with the LightningModule's current weights — no checkpoint is written
and read back — plus any other predictor the search needs (LLM-Distill-PP for
HS-NAS). It writes ``search.json``, the best architecture's YAML and the population
under ``<out_dir>/<when>/`` and logs into the trainer's own logger under
``search/<when>/``. Only global rank 0 searches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from llmpp.predictors.base import Predictor
from llmpp.predictors.supernet import SupernetPredictor
from llmpp.search.base import SearchAlgorithm
from llmpp.search.session import SearchSession, prepare_predictors
from llmpp.search.tracking import SearchTracker
from llmpp.task import TaskSpec

log = logging.getLogger(__name__)


class SearchCallback(Callback):
    """Searches with the trained supernet as the ``supernet`` predictor.

    Args:
        algorithm: the search, partially built: called with ``space``, ``constraint``
            and ``seed`` (``hydra.utils.instantiate(cfg.search, _partial_=True)``).
        task: the task being trained.
        predictors: the other predictors the search may ask for, by name, not yet set up.
        constraint: the constraint bound to the space and task, or None.
        hardware: the hardware target's name (for file names).
        seed: the search's seed.
        out_dir: where searches write (one sub-directory per search).
        every_n_steps: also search every n training steps (None: only after fit).
        supernet_metric: ``loss`` (score = -validation loss) or ``bleu``.
        valid_limit: validation pairs per inherited-weight evaluation (None = all).
        label_smoothing: the scored loss's label smoothing (0 = plain cross entropy).
        table_rows: scored architectures in the logged table.
        config: settings logged with the search (never secrets).
    """

    def __init__(
        self,
        *,
        algorithm: Callable[..., SearchAlgorithm],
        task: TaskSpec,
        predictors: Mapping[str, Predictor] | None = None,
        constraint: Any = None,
        hardware: str = "cpu",
        seed: int = 0,
        out_dir: str | Path = "search",
        every_n_steps: int | None = None,
        supernet_metric: str = "loss",
        valid_limit: int | None = 200,
        label_smoothing: float = 0.0,
        table_rows: int | None = 2000,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.algorithm = algorithm
        self.task = task
        self.predictors = dict(predictors or {})
        self.constraint = constraint
        self.hardware = hardware
        self.seed = int(seed)
        self.out_dir = Path(out_dir)
        self.every_n_steps = int(every_n_steps) if every_n_steps else None
        self.supernet_metric = supernet_metric
        self.valid_limit = valid_limit
        self.label_smoothing = float(label_smoothing)
        self.table_rows = table_rows
        self.config = dict(config or {})
        self.results: list[dict[str, Any]] = []
        self._last_step = -1

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           *args: Any, **kwargs: Any) -> None:
        step = trainer.global_step
        if self.every_n_steps and step % self.every_n_steps == 0 and step != self._last_step:
            self._last_step = step
            self.search(trainer, pl_module, f"step_{step:06d}")

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.search(trainer, pl_module, "final")

    def search(self, trainer: L.Trainer, module: L.LightningModule, when: str) -> dict | None:
        """Run the search with ``module``'s current weights; returns search.json's payload."""
        if not trainer.is_global_zero:
            return None
        space = module.space
        datamodule = trainer.datamodule
        supernet = SupernetPredictor.from_module(
            module, datamodule=datamodule, metric=self.supernet_metric,
            valid_limit=self.valid_limit, label_smoothing=self.label_smoothing,
        )
        constraint = self.constraint
        algorithm = self.algorithm(space=space, constraint=constraint, seed=self.seed)
        wanted = algorithm.predictors()
        others = {name: p for name, p in self.predictors.items() if name in wanted}
        out_dir = self.out_dir / when
        predictors = prepare_predictors(
            {**others, "supernet": supernet}, task=self.task, space=space, seed=self.seed,
            run_dir=out_dir,
        )
        tracker = SearchTracker(trainer.logger or None, prefix=f"search/{when}/",
                                owns_logger=False)
        session = SearchSession(
            out_dir=out_dir, algorithm=algorithm, predictors=predictors, task=self.task,
            space=space, constraint=constraint, hardware=self.hardware, tracker=tracker,
            config=self.config, table_rows=self.table_rows, progress=False,
        )
        was_training = module.training
        try:
            payload = session.run()
        finally:
            supernet.close()
            module.train(was_training)
        log.info("search after %s: best %s", when, payload["best"])
        self.results.append(payload)
        return payload
