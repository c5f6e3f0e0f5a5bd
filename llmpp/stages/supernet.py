"""``llmpp supernet``: train the weight-sharing SuperTransformer (``model=``) with Lightning.

Writes Lightning checkpoints to ``<run dir>/checkpoints/`` (``last.ckpt`` is the one
``predictor=supernet`` loads) and ``supernet.json`` with the inherited-weight
validation loss and BLEU of the largest and smallest sub-networks. With
``callbacks=search`` the configured search runs on the trained supernet in memory
and writes under ``<run dir>/search/``, logging into this stage's own W&B run.
"""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from omegaconf import DictConfig

from llmpp.config import CONF_DIR, build
from llmpp.errors import ConfigError
from llmpp.results import SupernetResult
from llmpp.search.callback import SearchCallback
from llmpp.stages.common import guarded, run_dir
from llmpp.stages.resume import continue_run
from llmpp.stages.searching import SearchBuilder
from llmpp.task import TaskSpec
from llmpp.tracking.loggers import build_logger, finish_logger
from llmpp.tracking.run_names import stage_run_names
from llmpp.tracking.stage_logging import log_config
from llmpp.training.evaluation import bleu_on_split, evaluate_loss
from llmpp.training.runner import (
    bind_callbacks,
    build_datamodule,
    build_module,
    build_trainer,
    instantiate_callbacks,
    resume_path,
)
from llmpp.utils.io import write_json

log = logging.getLogger(__name__)
SUBNETS = ("largest", "smallest")  # the sub-networks eval_archs may name


def evaluate_subnets(
    module, datamodule, names: list[str], *, bleu_limit: int | None, beam: int
) -> dict:
    """Inherited-weight valid loss and BLEU of named sub-networks (largest/smallest)."""
    out: dict[str, Any] = {}
    space = module.space
    for name in names:
        arch = {"largest": space.largest, "smallest": space.smallest}[name]()
        model = module.run_arch(arch)
        loss = evaluate_loss(model, datamodule.loader("valid", shuffle=False))
        bleu = bleu_on_split(model, datamodule, "valid", limit=bleu_limit, beam=beam)
        out[name] = {
            "arch": arch.to_hat(),
            "valid_loss": loss,
            "valid_BLEU": bleu.score,
            "bleu_signature": bleu.signature,
        }
    return out


def run_supernet(cfg: DictConfig, out_dir: Path) -> SupernetResult:
    """Train (or resume) the supernet; returns the ``supernet.json`` payload."""
    started = time.perf_counter()
    cfg, out_dir = continue_run(cfg, out_dir, "supernet")
    L.seed_everything(int(cfg.seed), workers=True, verbose=False)
    space = build(cfg.space, "space")
    task = TaskSpec.from_config(cfg.task)
    unknown = sorted(set(cfg.eval_archs) - set(SUBNETS))
    if unknown:  # checked now: they are evaluated only after training
        raise ConfigError(f"eval_archs: unknown {unknown}; choose from {', '.join(SUBNETS)}")
    datamodule = build_datamodule(cfg.data, cfg.task, int(cfg.seed))
    module = build_module(cfg.model, space=space, task=cfg.task,
                          optim=build(cfg.optim, "optim"), seed=int(cfg.seed))
    callbacks = instantiate_callbacks(cfg.get("callbacks"), out_dir)
    if any(isinstance(c, functools.partial) for c in callbacks):
        # callbacks=search: its searches come from the one search builder.
        searches = SearchBuilder(cfg, task)
        searches.prepare(space, provided=("supernet",))  # a missing checkpoint fails now
        callbacks = bind_callbacks(callbacks, new_search=searches.session)
    # Checked before the Trainer exists: a bad checkpoint fails with one line and no noise.
    ckpt = resume_path(out_dir)
    logger = build_logger(cfg.get("logger"), out_dir, **stage_run_names("supernet", task.name))
    try:
        log_config(logger, cfg)
        trainer = build_trainer(cfg.trainer, out_dir=out_dir, logger=logger, callbacks=callbacks,
                                val_check_interval_updates=cfg.val_check_interval_updates)
        if ckpt:
            log.info("resuming from %s", ckpt)
        # Our own full-state checkpoints (optimizer, loops, data position): not weights only.
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt, weights_only=False)
        last = out_dir / "checkpoints" / "last.ckpt"
        trainer.save_checkpoint(str(last), weights_only=False)
        payload: dict[str, Any] = {
            "checkpoint": str(last),
            "space": space.name,
            "space_hash": space.hash(),
            "task": task.name,
            "model": str(cfg.model.supernet._target_),
            "steps": int(trainer.global_step),
            "resumed_from": ckpt,
        }
        if trainer.is_global_zero:
            datamodule.setup()
            payload["subnets"] = evaluate_subnets(
                module, datamodule, list(cfg.eval_archs),
                bleu_limit=cfg.eval_bleu_limit, beam=int(cfg.beam),
            )
            for callback in callbacks:
                if isinstance(callback, SearchCallback) and callback.results:
                    payload["search"] = {k: callback.results[-1][k]
                                         for k in ("best", "run_dir", "algorithm")}
            payload["wall_seconds"] = time.perf_counter() - started
            if logger is not None:
                logger.log_metrics({f"eval/{name}/{key}": row[key]
                                    for name, row in payload["subnets"].items()
                                    for key in ("valid_loss", "valid_BLEU")})
            write_json(out_dir / "supernet.json", payload)
    finally:
        finish_logger(logger)
    return SupernetResult.from_json(payload)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="supernet")
@guarded
def main(cfg: DictConfig) -> None:
    out_dir = run_dir()
    payload = run_supernet(cfg, out_dir)
    for name, row in payload.get("subnets", {}).items():
        print(f"{name:>8}: valid loss {row['valid_loss']:.3f}  valid BLEU {row['valid_BLEU']:.2f}")
    if "search" in payload:
        best = payload["search"]["best"] or {}
        print(f"search ({payload['search']['algorithm']}): best score {best.get('score')}; "
              f"wrote {payload['search']['run_dir']}/search.json")
    print(f"\nwrote {payload['checkpoint']}")


if __name__ == "__main__":  # `python -m llmpp.stages.<stage>`; DDP re-launches this way
    main()
