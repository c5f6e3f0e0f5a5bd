"""``SearchCallback``: run the configured search on the supernet being trained.

After ``fit`` (and optionally every ``every_n_epochs`` epochs, to watch the search
improve while the supernet trains) the callback saves the current weights, ranks
with them through ``SupernetPredictor`` (plus any other predictor the search
needs, e.g. LLM-Distill-PP for HS-NAS) and writes the search's outputs under
``<run dir>/search/``, logging to the trainer's own logger.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig, OmegaConf, open_dict

from llmpp.search.session import SearchSession

log = logging.getLogger(__name__)


class SearchCallback(Callback):
    """Runs a search with the trained supernet as the ``supernet`` predictor.

    Args:
        cfg: a search-stage config (``task``, ``space``, ``search``, ``seed``,
            ``predictors``, ``constraint``, ``tracking``, ``hardware``), e.g. the
            composed ``conf/search.yaml``; ``predictors.supernet.checkpoint`` is
            filled in with the weights being trained.
        out_dir: where searches write (default: ``<trainer.default_root_dir>/search``).
        every_n_epochs: also search after every n-th epoch (None: only after fit).
    """

    def __init__(
        self, *, cfg: DictConfig | dict, out_dir: str | Path | None = None,
        every_n_epochs: int | None = None,
    ) -> None:
        self.cfg = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.every_n_epochs = every_n_epochs
        self.results: list[dict[str, Any]] = []

    def _root(self, trainer: L.Trainer) -> Path:
        return self.out_dir or Path(trainer.default_root_dir) / "search"

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if self.every_n_epochs and epoch % self.every_n_epochs == 0:
            self.search(trainer, self._root(trainer) / f"epoch_{epoch:03d}")

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.search(trainer, self._root(trainer) / "final")

    def search(self, trainer: L.Trainer, out_dir: Path) -> dict[str, Any] | None:
        """Save the weights, run the search on rank 0; returns search.json's payload."""
        ckpt = out_dir / "supernet.ckpt"
        trainer.save_checkpoint(ckpt)  # every rank takes part; only rank 0 searches
        if not trainer.is_global_zero:
            return None
        cfg = copy.deepcopy(self.cfg)
        with open_dict(cfg):
            cfg.predictors.supernet.checkpoint = str(ckpt)
        session = SearchSession.from_config(cfg, out_dir, logger=trainer.logger or None)
        session.tracker.prefix = f"search/{out_dir.name}/"
        session.tracker.owns_logger = False  # the trainer finishes its own logger
        try:
            payload = session.run()
        finally:
            session.close()
        log.info("search after %s: best %s", out_dir.name, payload["best"])
        self.results.append(payload)
        return payload
