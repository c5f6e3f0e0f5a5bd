"""``llmpp distill labels=<labels.jsonl>``: train LLM-Distill-PP from a teacher's labels.

Reads the labels (``llmpp label`` writes them for LLM-PP; ``teacher=`` makes any
configured predictor the teacher instead), trains the regressor with early stopping
on a held-out slice of architectures, and writes into the run dir:

* ``distill.ckpt`` — the self-describing checkpoint ``predictor=llm_distill`` loads;
* ``distill.json`` — train / held-out MAE and Kendall tau, label counts, wall seconds.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from llmpp.config import CONF_DIR, build
from llmpp.distill.checkpoint import checkpoint_payload, save_checkpoint
from llmpp.distill.features import FeatureEncoder
from llmpp.distill.train import TrainConfig, train_regressor
from llmpp.errors import ConfigError
from llmpp.gold.source import GoldData
from llmpp.labels.demonstrations import seed_demonstrations
from llmpp.labels.format import LabelSet, read_labels, write_labels
from llmpp.labels.pools import gold_pool, sampled_pool
from llmpp.labels.teacher import label_with_predictor
from llmpp.results import DistillResult
from llmpp.space.search_space import SearchSpace
from llmpp.stages.common import guarded, run_dir
from llmpp.task import TaskSpec
from llmpp.tracking.stage_logging import log_stage
from llmpp.utils.io import write_json

log = logging.getLogger(__name__)
CHECKPOINT_NAME = "distill.ckpt"


def _task(cfg: DictConfig) -> TaskSpec:
    return TaskSpec.from_config(cfg.task)  # one task; task=all is refused with the sweep to use


def teacher_labels(cfg: DictConfig, task: TaskSpec, space: SearchSpace, out_dir: Path) -> Path:
    """Score the configured pool with ``cfg.teacher.predictor``; returns the labels path."""
    teacher = cfg.teacher
    gold: GoldData = build(cfg.benchmark, "benchmark")
    source = gold.source() if task.gold_name else None
    if teacher.pool not in ("authors", "sample"):
        raise ConfigError(f"teacher.pool={teacher.pool!r} is unknown; use authors or sample")
    if teacher.pool == "authors" and not task.gold_name:
        raise ConfigError(f"task {task.name} has no authors' pools; pass teacher.pool=sample")
    rows: list[dict[str, Any]] = []
    for seed in [int(s) for s in teacher.demo_seeds]:
        demos = seed_demonstrations(task.gold_name, seed, source=source) if task.gold_name else []
        if teacher.pool == "authors":
            archs = [
                space.validate(a)
                for a in gold_pool(task.gold_name, seed, teacher.pool_seeds, source=source)
            ]
        else:
            archs = sampled_pool(space, int(teacher.n_archs), seed)
        predictor = build(teacher.predictor, "teacher.predictor")
        rows += label_with_predictor(predictor, archs, demos, task=task, space=space, seed=seed)
    path = out_dir / "labels.jsonl"
    write_labels(path, rows)
    log.info("teacher labelled %d architectures into %s", len(rows), path)
    return path


def _labels_path(cfg: DictConfig, task: TaskSpec, space: SearchSpace, out_dir: Path) -> Path:
    if cfg.get("labels"):
        return Path(str(cfg.labels)).expanduser()
    if cfg.teacher.get("predictor"):
        return teacher_labels(cfg, task, space, out_dir)
    raise ConfigError(
        "no labels: pass labels=<labels.jsonl> (run `llmpp label` to make one), or a teacher "
        "predictor, e.g. predictor@teacher.predictor=linear"
    )


def _check_task(labels: LabelSet, task: TaskSpec) -> None:
    tasks = {t for t in labels.provenance.get("task", {}) if t != "None"}
    if tasks and task.name not in tasks:
        raise ConfigError(
            f"labels {labels.provenance['path']} are for task {', '.join(sorted(tasks))}, not "
            f"{task.name}; pass task={sorted(tasks)[0]}"
        )


def train_config(cfg: DictConfig) -> TrainConfig:
    """The ``regressor`` block as a ``TrainConfig`` (unknown keys are config errors)."""
    block = OmegaConf.to_container(cfg.regressor, resolve=True)
    block = {k: v for k, v in block.items() if k not in ("features", "label_seed")}
    try:
        return TrainConfig(**block, seed=int(cfg.seed))
    except TypeError as exc:
        raise ConfigError(f"regressor: {exc}; check the keys of the regressor config") from None


def run_distill(cfg: DictConfig, out_dir: Path) -> DistillResult:
    """Train Distill-PP from labels; writes the checkpoint and ``distill.json``."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    space = build(cfg.space, "space")
    task = _task(cfg)
    config = train_config(cfg)
    path = _labels_path(cfg, task, space, out_dir)
    label_seed = cfg.regressor.get("label_seed")
    labels = read_labels(path, space, seed=None if label_seed is None else int(label_seed))
    _check_task(labels, task)
    kind = str(cfg.regressor.features)
    features = FeatureEncoder(space, kind).encode(labels.archs)
    module, metrics = train_regressor(
        features, labels.targets, [a.key() for a in labels.archs], config
    )
    counts = {
        "rows": labels.rows,
        "used": len(labels.archs),
        "unique_archs": labels.unique,
        "failures_skipped": labels.failures,
        "other_seeds_skipped": labels.filtered,
    }
    payload = checkpoint_payload(
        module.net.state_dict(),
        model={
            "in_dim": features.shape[1],
            "hidden_dim": config.hidden_dim,
            "hidden_layers": config.hidden_layers,
        },
        target_mean=float(module.target_mean),
        target_std=float(module.target_std),
        feature_kind=kind,
        space=space,
        task=task.name,
        train_config=config.as_dict(),
        labels={**labels.provenance, **counts, "label_seed": label_seed},
        metrics=metrics,
    )
    checkpoint = out_dir / CHECKPOINT_NAME
    save_checkpoint(checkpoint, payload)
    report = {
        "checkpoint": str(checkpoint),
        "task": task.name,
        "space": {"name": space.name, "hash": space.hash()},
        "features": kind,
        "labels": payload["labels"],
        "train": metrics["train"],
        "heldout": metrics["heldout"],
        "epochs": metrics["epochs"],
        "best_epoch": metrics["best_epoch"],
        "train_config": config.as_dict(),
        "wall_seconds": time.perf_counter() - started,
    }
    write_json(out_dir / "distill.json", report)
    _log_run(cfg, out_dir, report)
    return DistillResult.from_json(report)


def _log_run(cfg: DictConfig, out_dir: Path, report: dict[str, Any]) -> None:
    """Held-out and train fit to the teacher, epochs, label counts, throughput; distill.json."""
    metrics = {key: report[key] for key in ("train", "heldout", "epochs", "best_epoch", "labels",
                                            "wall_seconds")}
    # Labels seen per second over the whole stage (reading, training, evaluation).
    seen = report["labels"]["used"] * report["epochs"]
    metrics["throughput/labels_per_second"] = seen / max(report["wall_seconds"], 1e-9)
    log_stage(cfg.get("logger"), out_dir, stage="distill", task=report["task"], config=cfg,
              metrics=metrics, files=[out_dir / "distill.json"])


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="distill")
@guarded
def main(cfg: DictConfig) -> None:
    out_dir = run_dir()
    report = run_distill(cfg, out_dir)
    held, train = report["heldout"], report["train"]
    print(
        f"Distill-PP on {report['labels']['used']} labels ({report['labels']['failures_skipped']} "
        f"failures skipped): held-out MAE {held['mae']:.4f} tau {held['kendall']:.3f}; "
        f"train MAE {train['mae']:.4f} tau {train['kendall']:.3f}"
    )
    print(
        f"wrote {report['checkpoint']}\nuse it: llmpp benchmark predictor=llm_distill "
        f"predictor.checkpoint={report['checkpoint']}"
    )


if __name__ == "__main__":  # `python -m llmpp.stages.<stage>`; DDP re-launches this way
    main()
