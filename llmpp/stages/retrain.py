"""``llmpp retrain``: train architectures from scratch; a result file and a gold set.

One architecture (``arch=<yaml>``) -> ``retrain.json`` with valid/test BLEU and loss.
A list (``archs=<file>`` or ``n_archs=N``) -> every result in
``retrain.json`` and a gold set in the authors' layout under ``<run dir>/gold`` (when
the list holds ``split.demos + split.test`` architectures; fewer: ``retrain.json`` only,
said in a warning before the training starts).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import numpy as np
from omegaconf import DictConfig, OmegaConf

from llmpp.config import CONF_DIR, build
from llmpp.errors import ConfigError
from llmpp.results import RetrainResult
from llmpp.space.architecture import Architecture
from llmpp.stages.common import guarded, run_dir
from llmpp.stages.resume import continue_run
from llmpp.task import TaskSpec
from llmpp.tracking.loggers import build_logger, finish_logger
from llmpp.tracking.run_names import stage_run_names
from llmpp.tracking.stage_logging import log_config
from llmpp.training.best_weights import (
    best_checkpoint_callback,
    check_score_checkpoint,
    load_best_weights,
)
from llmpp.training.evaluation import bleu_on_split, evaluate_loss
from llmpp.training.gold_set import make_record, read_arch_file, write_gold_set
from llmpp.training.inherit import inherit_weights
from llmpp.training.module import TranslationModule
from llmpp.training.runner import (
    build_datamodule,
    build_module,
    build_trainer,
    instantiate_callbacks,
    resume_path,
)
from llmpp.utils.io import write_json

log = logging.getLogger(__name__)


def train_one(
    cfg: DictConfig, space, arch: Architecture, out_dir: Path, logger: Any = None
) -> dict[str, Any]:
    """Train ``arch`` from scratch in ``out_dir`` (resumable); returns its scores."""
    done = out_dir / "result.json"
    if done.is_file():
        return json.loads(done.read_text())
    started = time.perf_counter()
    L.seed_everything(int(cfg.seed), workers=True, verbose=False)
    datamodule = build_datamodule(cfg.data, cfg.task, int(cfg.seed))
    module = build_module(cfg.model, space=space, task=cfg.task, optim=build(cfg.optim, "optim"),
                          seed=int(cfg.seed), arch=arch.to_hat())
    if cfg.get("init_from"):  # fine-tune from the supernet's inherited weights
        inherit_weights(module, str(cfg.init_from))
    callbacks = [c for c in instantiate_callbacks(cfg.get("callbacks"), out_dir)
                 if isinstance(c, L.Callback)]  # a search has no supernet to run on here
    scored = check_score_checkpoint(str(cfg.score_checkpoint))
    best = best_checkpoint_callback(out_dir) if scored == "best" else None
    trainer = build_trainer(cfg.trainer, out_dir=out_dir, logger=logger,
                            callbacks=[*callbacks, *([best] if best else [])],
                            val_check_interval_updates=cfg.val_check_interval_updates)
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_path(out_dir), weights_only=False)
    trainer.save_checkpoint(str(out_dir / "checkpoints" / "last.ckpt"), weights_only=False)
    datamodule.setup()
    limit, beam = cfg.get("eval_bleu_limit"), int(cfg.beam)
    length_penalty = float(cfg.length_penalty)
    lengths = {"max_len_a": float(cfg.max_len_a), "max_len_b": int(cfg.max_len_b)}
    result: dict[str, Any] = {"arch": arch.to_hat(), "steps": int(trainer.global_step),
                              "bleu_decoding": {"beam": beam, "length_penalty": length_penalty,
                                                **lengths},
                              "scored_checkpoint": {"kind": scored}}
    if best is not None:
        result["scored_checkpoint"] |= load_best_weights(module, best)
    for split in ("valid", "test"):
        loader = datamodule.loader(split, shuffle=False)
        result[f"{split}_loss"] = evaluate_loss(module.model, loader)
        bleu = bleu_on_split(module.model, datamodule, split, limit=limit, beam=beam,
                             length_penalty=length_penalty, **lengths)
        scores = bleu.scores.as_dict()
        # Two BLEUs, named apart: sacreBLEU (signature) and HAT's tokenized compound BLEU.
        result[f"{split}_sacrebleu"] = scores["sacrebleu"]
        result[f"{split}_bleu_tokenized_compound"] = scores["bleu_tokenized_compound"]
        result[f"{split}_BLEU"] = scores[str(cfg.bleu_reported)]
        result["sacrebleu_signature"] = scores["sacrebleu_signature"]
        result["bleu_tokenized_compound_tokenizer"] = scores["bleu_tokenized_compound_tokenizer"]
    result["bleu_reported"] = str(cfg.bleu_reported)
    result["wall_seconds"] = time.perf_counter() - started
    write_json(done, result)
    return result


def _load_arch(value: Any, space) -> Architecture:
    if isinstance(value, str):
        archs = read_arch_file(value, space)
        if len(archs) != 1:
            raise ConfigError(f"arch={value} holds {len(archs)} architectures; use archs=")
        return archs[0]
    return space.from_hat(OmegaConf.to_container(value, resolve=True))


def arch_list(cfg: DictConfig, space) -> list[Architecture]:
    """The architectures a list run trains (file or seeded sample), duplicates removed."""
    if cfg.get("archs"):
        archs = read_arch_file(cfg.archs, space)
    elif int(cfg.get("n_archs") or 0) > 0:
        archs = space.sample(np.random.default_rng(int(cfg.sample_seed)), int(cfg.n_archs))
    else:
        raise ConfigError("nothing to train: pass arch=<yaml>, archs=<file> or n_archs=N")
    unique = {a.key(): a for a in archs}
    return list(unique.values())


def supernet_scores(
    cfg: DictConfig, space, archs: list[Architecture]
) -> dict[str, dict[str, float]]:
    """Inherited-weight valid loss and BLEU per architecture key (column ``Supernet``)."""
    from llmpp.predictors.base import TaskContext
    from llmpp.predictors.supernet import SupernetPredictor
    from llmpp.task import TaskSpec

    out: dict[str, dict[str, float]] = {a.key(): {} for a in archs}
    for metric in ("loss", "bleu"):
        predictor = SupernetPredictor(checkpoint=cfg.supernet_checkpoint, metric=metric)
        predictor.setup(TaskContext(task=TaskSpec.from_config(cfg.task), space=space))
        scores = predictor.predict(archs)
        predictor.close()
        for arch, score in zip(archs, scores, strict=True):
            key = "valid_loss" if metric == "loss" else "valid_BLEU"
            out[arch.key()][key] = -float(score) if metric == "loss" else float(score)
    return out


def run_retrain(cfg: DictConfig, out_dir: Path) -> RetrainResult:
    """Train one architecture or a list; returns the ``retrain.json`` payload.

    One W&B run for the stage: a single architecture logs its training curves into
    it; a list logs each architecture's results (its trainers log nowhere, so the
    curves of different architectures never interleave under one key).
    """
    cfg, out_dir = continue_run(cfg, out_dir, "retrain")
    space = build(cfg.space, "space")
    logger = build_logger(cfg.get("logger"), out_dir, **stage_run_names("retrain", cfg.task.name))
    try:
        log_config(logger, cfg)
        return RetrainResult.from_json(_retrain(cfg, space, out_dir, logger))
    finally:
        finish_logger(logger)


def _retrain(cfg: DictConfig, space, out_dir: Path, logger: Any) -> dict[str, Any]:
    task = TaskSpec.from_config(cfg.task)
    if cfg.get("arch") is not None:
        arch = _load_arch(cfg.arch, space)
        result = train_one(cfg, space, arch, out_dir / "arch", logger=logger)
        payload = {"task": task.name, "space": space.name, **result}
        write_json(out_dir / "retrain.json", payload)
        return payload
    archs = arch_list(cfg, space)
    gold = cfg.split
    with_gold = len(archs) >= int(gold.demos) + int(gold.test)
    if not with_gold:  # said before the training, not after it
        log.warning(
            "%d architectures are too few for a gold set of %d demonstrations + %d test "
            "records: writing retrain.json only (lower split.demos/split.test for a gold set)",
            len(archs), int(gold.demos), int(gold.test),
        )
    if cfg.get("supernet_checkpoint"):
        # Scored after training: a bad checkpoint must fail before hours of it.
        TranslationModule.from_checkpoint(cfg.supernet_checkpoint)
    results = []
    for i, arch in enumerate(archs):
        log.info("architecture %d/%d: %s", i + 1, len(archs), arch.short())
        arch_dir = out_dir / "archs" / f"{i:03d}-{arch.key()}"
        results.append(train_one(cfg, space, arch, arch_dir))
        if logger is not None:
            logger.log_metrics({f"arch/{k}": v for k, v in results[-1].items()
                                if isinstance(v, int | float)}, step=i)
        if not cfg.get("keep_checkpoints"):
            shutil.rmtree(arch_dir / "checkpoints", ignore_errors=True)
    payload: dict[str, Any] = {"task": task.name, "space": space.name}
    if with_gold:  # the supernet's scores are a column of the gold set only
        extra = supernet_scores(cfg, space, archs) if cfg.get("supernet_checkpoint") else {}
        records = [
            make_record(a, r, int(cfg.task.vocab_size), space.qkv_dim,
                        {"Supernet": extra[a.key()]} if extra else None)
            for a, r in zip(archs, results, strict=True)
        ]
        files = write_gold_set(
            records,
            out_dir / "gold",
            str(task.gold_name or task.name),
            seeds=list(gold.seeds),
            demos=int(gold.demos),
            test=int(gold.test),
        )
        payload |= {"gold_dir": str(out_dir / "gold"), "gold_files": [str(f) for f in files]}
    payload["results"] = results
    write_json(out_dir / "retrain.json", payload)
    return payload


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="retrain")
@guarded
def main(cfg: DictConfig) -> None:
    out_dir = run_dir()
    payload = run_retrain(cfg, out_dir)
    rows = payload.get("results") or [payload]
    for row in rows:
        arch = Architecture.from_hat(row["arch"])
        print(
            f"{arch.short():>14}: valid BLEU {row['valid_BLEU']:.2f}"
            f"  test BLEU {row['test_BLEU']:.2f}"
            f"  valid loss {row['valid_loss']:.3f}"
        )
    if payload.gold_dir:
        print(f"\ngold set: {payload['gold_dir']}")
    print(f"wrote {out_dir / 'retrain.json'}")


if __name__ == "__main__":  # `python -m llmpp.stages.<stage>`; DDP re-launches this way
    main()
