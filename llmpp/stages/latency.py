"""``llmpp latency hardware=<hw> space=<space> task=<task>``: measure, fit, report.

Samples ``n_archs`` architectures (seeded), measures each one's standalone
model on the hardware target into ``latency.csv`` (appended chunk by chunk: a
killed run, rerun with ``resume=<its run dir>``, measures only what is missing; the
policy is ``llmpp.stages.resume``),
fits a latency predictor on a train split, scores MAPE and Kendall tau on the
held-out architectures and writes, in the run dir:

* ``latency_predictor.pt`` — the self-describing artifact; point
  ``hardware.latency_predictor=`` at it for ``constraint=latency`` and ``describe``;
* ``latency.json`` — device metadata, measurement protocol, the measurement's own
  spread, held-out and cross-validated scores of every model, wall seconds;
* ``latency_fit.png`` — predicted against measured latency of the held-out archs.

A target HAT measured (``hardware=titanxp|xeon|raspberrypi``) times nothing: its
artifact is built from HAT's released data (``llmpp.hardware.measured``) with the
target's ``model`` (HAT's released predictor by default), scored on HAT's test split.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf

from llmpp.config import CONF_DIR, build
from llmpp.errors import ConfigError
from llmpp.hardware.artifact import artifact_payload, save_artifact
from llmpp.hardware.dataset import LatencyDataset
from llmpp.hardware.fit import fit_latency_model
from llmpp.hardware.measure import LatencyMeter, LatencyRecord, MeasureConfig, torch_threads
from llmpp.hardware.plots import fit_plot
from llmpp.hardware.predictor import MODELS, mape
from llmpp.results import LatencyResult
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace
from llmpp.stages.common import guarded, run_dir
from llmpp.stages.resume import continue_run
from llmpp.task import TaskSpec
from llmpp.tracking.stage_logging import log_stage
from llmpp.utils.io import write_json
from llmpp.utils.progress import progress_bar

log = logging.getLogger(__name__)
ARTIFACT_NAME = "latency_predictor.pt"


def sample_archs(space: SearchSpace, n: int, seed: int) -> list[Architecture]:
    """``n`` distinct architectures (fewer if the space is smaller), seeded."""
    rng = np.random.default_rng(seed)
    found: dict[str, Architecture] = {}
    for _ in range(50 * n):
        if len(found) == n:
            break
        arch = space.sample(rng)
        found.setdefault(arch.key(), arch)
    return list(found.values())


def measure_missing(
    meter: LatencyMeter, archs: list[Architecture], dataset: LatencyDataset, *,
    chunk: int, progress: bool,
) -> int:
    """Measure the architectures ``dataset`` lacks, appending each chunk; returns how many."""
    todo = [a for a in archs if a not in dataset]
    repeats = meter.config.repeats
    with progress_bar(total=len(todo) * repeats, desc="latency", unit="run", disable=not progress,
              dynamic_ncols=True) as bar:
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            size = len(part)
            dataset.append(meter.measure(part, on_round=lambda: bar.update(size)))  # noqa: B023
    return len(todo)


def spread_summary(records: list[LatencyRecord]) -> dict[str, float]:
    """How repeatable single measurements were (medians and 90th percentiles over archs)."""
    iqr = np.array([r.iqr_rel for r in records])
    ratio = np.array([r.max_min for r in records])
    return {
        "iqr_over_median": {"median": float(np.median(iqr)), "p90": float(np.percentile(iqr, 90))},
        "max_over_min": {"median": float(np.median(ratio)), "p90": float(np.percentile(ratio, 90))},
    }


def retest(meter: LatencyMeter, records: list[LatencyRecord]) -> dict[str, float] | None:
    """Measure some architectures again in a separate pass: the measurement's own MAPE."""
    if not records:
        return None
    again = meter.measure([r.arch for r in records])
    first = np.array([r.latency_ms for r in records])
    second = np.array([r.latency_ms for r in again])
    return {"archs": len(records), "mape": mape(second, first),
            "median_ratio": float(np.median(second / first))}


def _measure_config(cfg: DictConfig) -> MeasureConfig:
    block = OmegaConf.to_container(cfg.measure, resolve=True)
    try:
        return MeasureConfig(**block, seed=int(cfg.seed))
    except TypeError as exc:
        raise ConfigError(f"measure: {exc}; check its keys") from None


def _fit(cfg: DictConfig, archs: list[Architecture], records: list[LatencyRecord],
         space: SearchSpace, task: TaskSpec, measure: MeasureConfig):
    fit = cfg.fit
    options = OmegaConf.to_container(fit.get("models") or {}, resolve=True)
    return fit_latency_model(
        archs, np.array([r.latency_ms for r in records]), space=space,
        vocab_size=task.vocab_size, measure=measure, kind=str(fit.model), options=options,
        test_fraction=float(cfg.test_fraction), cv_folds=int(fit.cv_folds),
        seed=int(cfg.seed),
    )


def _start(cfg: DictConfig, out_dir: Path) -> tuple[DictConfig, Path]:
    """The config and run dir to use (``llmpp.stages.resume``'s policy)."""
    cfg, out_dir = continue_run(cfg, out_dir, "latency")
    if str(cfg.fit.model) not in ("auto", *MODELS):
        # Checked before measuring: the fit comes only after minutes of timing.
        raise ConfigError(f"fit.model={cfg.fit.model!r}; choose auto or one of "
                          f"{', '.join(sorted(MODELS))}")
    return cfg, out_dir


def run_latency(cfg: DictConfig, out_dir: Path) -> LatencyResult:
    """Measure, fit and score; writes latency.csv, the artifact and latency.json."""
    started = time.perf_counter()
    cfg, out_dir = _start(cfg, out_dir)
    space, task = build(cfg.space, "space"), TaskSpec.from_config(cfg.task)
    target = build(cfg.hardware, "hardware")
    if getattr(target, "measured", False):  # HAT's devices: built from its release, not timed
        return LatencyResult.from_json(_from_release(cfg, target, space, task, out_dir, started))
    measure, block = _measure_config(cfg), cfg
    archs = sample_archs(space, int(block.n_archs), int(cfg.sample_seed))
    dataset = LatencyDataset(out_dir / "latency.csv")
    with torch_threads(target.threads) as threads:
        meter = target.meter(vocab_size=task.vocab_size, qkv_dim=space.qkv_dim, config=measure)
        metadata = target.metadata(threads)
        already = sum(a in dataset for a in archs)
        measured = measure_missing(meter, archs, dataset, chunk=int(block.chunk),
                                   progress=bool(block.progress))
    seconds = {"measure": time.perf_counter() - started}
    records = [dataset.get(a) for a in archs]
    result = _fit(cfg, archs, records, space, task, measure)  # untimed: all cores
    seconds["fit"] = time.perf_counter() - started - seconds["measure"]
    held_out = np.array([records[i].latency_ms for i in result.test_index])
    fit_plot(out_dir / "latency_fit.png", held_out, result.test_predictions,
             f"{result.kind} on {len(held_out)} held-out archs")
    with torch_threads(target.threads):
        repeat = retest(meter, [records[i] for i in result.test_index[: int(block.retest or 0)]])
    training = {"samples": len(archs), "train": len(archs) - len(result.test_index),
                "test": len(result.test_index), "model": str(block.fit.model),
                "chosen": result.kind, "test_fraction": float(block.test_fraction),
                "cv_folds": int(block.fit.cv_folds), "seed": int(cfg.seed),
                "options": OmegaConf.to_container(block.fit.get("models") or {}, resolve=True)}
    metrics = {"test": result.test, "candidates": result.candidates, "cv": result.cv,
               "spread": spread_summary(records), "retest": repeat}
    artifact = out_dir / ARTIFACT_NAME
    save_artifact(artifact, artifact_payload(
        result.model, space=space, task=task, hardware=metadata, measurement=measure,
        training=training, metrics=metrics))
    latencies = [r.latency_ms for r in records]
    payload = {
        "protocol": measure.protocol, "hardware": metadata, "space": space.name,
        "space_hash": space.hash(), "task": task.name,
        "measurement": measure.as_dict(), "training": training, **metrics,
        "counts": {"archs": len(archs), "measured_now": measured, "reused": already},
        "latency_ms": {"min": min(latencies), "median": float(np.median(latencies)),
                       "max": max(latencies)},
        "artifact": str(artifact), "csv": str(out_dir / "latency.csv"),
        "wall_seconds": {**seconds, "total": time.perf_counter() - started},
    }
    write_json(out_dir / "latency.json", payload)
    _log_run(cfg, out_dir, payload)
    return LatencyResult.from_json(payload)


def _from_release(cfg: DictConfig, target: Any, space: SearchSpace, task: TaskSpec,
                  out_dir: Path, started: float) -> dict[str, Any]:
    """A measured target's artifact (HAT's data) and its latency.json; nothing is timed."""
    built = target.build_payload(space, task)
    artifact = out_dir / ARTIFACT_NAME
    save_artifact(artifact, built)
    metrics = built["metrics"]
    payload = {
        "protocol": "hat (HAT's released measurements)", "hardware": built["hardware"],
        "csv": None,
        "space": space.name, "space_hash": space.hash(), "task": task.name,
        "training": built["training"], "test": metrics["test"], "cv": metrics["cv"],
        "noise_ms": metrics["noise_ms"], "artifact": str(artifact),
        "wall_seconds": {"total": time.perf_counter() - started},
    }
    write_json(out_dir / "latency.json", payload)
    _log_run(cfg, out_dir, payload)
    return payload


def _log_run(cfg: DictConfig, out_dir: Path, payload: dict[str, Any]) -> None:
    """Held-out MAPE / tau of every model, CV, re-test error, spread, counts; latency.json."""
    log_stage(
        cfg.get("logger"), out_dir, stage="latency", task=payload["task"], config=cfg,
        metrics={key: payload.get(key) or {} for key in (
            "test", "candidates", "cv", "spread", "retest", "counts", "latency_ms",
            "wall_seconds")},
        images={"fit": out_dir / "latency_fit.png"},
        files=[out_dir / "latency.json"],
    )


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="latency")
@guarded
def main(cfg: DictConfig) -> None:
    p = run_latency(cfg, run_dir())
    if "spread" not in p:  # a measured target (HAT's data): nothing was timed here
        t = p["test"]
        print(f"latency predictor ({p['training']['chosen']}) from {p['training']['dataset']} "
              f"on HAT's {p['training']['test']} test archs: MAPE {t['mape']:.2f} %, Kendall "
              f"tau {t['kendall_tau']:.3f}; wrote {p['artifact']}")
        return
    test, spread = p["test"], p["spread"]["iqr_over_median"]["median"]
    retest_mape = (p["retest"] or {}).get("mape")
    print(f"latency predictor ({p['training']['chosen']}) on {p['training']['test']} held-out "
          f"archs: MAPE {test['mape']:.2f} %, Kendall tau {test['kendall_tau']:.3f}; "
          f"measurement spread IQR/median {100 * spread:.1f} %"
          + (f", retest MAPE {retest_mape:.2f} %" if retest_mape is not None else "")
          + f"; wrote {p['artifact']}")


if __name__ == "__main__":  # `python -m llmpp.stages.<stage>`; DDP re-launches this way
    main()
