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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from llmpp.predictors.supernet import SupernetPredictor
from llmpp.search.session import SearchSession
from llmpp.search.tracking import SearchTracker

log = logging.getLogger(__name__)


class SearchCallback(Callback):
    """Searches with the trained supernet as the ``supernet`` predictor.

    Args:
        new_search: makes one search ready to run (the stage's ``SearchBuilder.session``):
            called with ``space``, ``out_dir``, ``tracker``, ``provided`` (the in-memory
            supernet predictor) and ``progress``.
        out_dir: where searches write (one sub-directory per search).
        every_n_steps: also search every n training steps (None: only after fit).
        supernet_metric: ``loss`` (score = -validation loss) or ``bleu``.
        valid_limit: validation pairs per inherited-weight evaluation (None = all).
        label_smoothing: the scored loss's label smoothing (0 = plain cross entropy).
    """

    def __init__(
        self,
        *,
        new_search: Callable[..., SearchSession],
        out_dir: str | Path,
        every_n_steps: int | None,
        supernet_metric: str,
        valid_limit: int | None,
        label_smoothing: float = 0.0,
    ) -> None:
        self.new_search = new_search
        self.out_dir = Path(out_dir)
        self.every_n_steps = int(every_n_steps) if every_n_steps else None
        self.supernet_metric = supernet_metric
        self.valid_limit = valid_limit
        self.label_smoothing = float(label_smoothing)
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
        supernet = SupernetPredictor.from_module(
            module, datamodule=trainer.datamodule, metric=self.supernet_metric,
            valid_limit=self.valid_limit, label_smoothing=self.label_smoothing,
        )
        tracker = SearchTracker(trainer.logger or None, prefix=f"search/{when}/",
                                owns_logger=False)
        session = self.new_search(space=module.space, out_dir=self.out_dir / when,
                                  tracker=tracker, provided={"supernet": supernet},
                                  progress=False)
        was_training = module.training
        try:
            payload = session.run()
        finally:
            supernet.close()
            module.train(was_training)
        log.info("search after %s: best %s", when, payload["best"])
        self.results.append(payload)
        return payload
