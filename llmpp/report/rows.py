"""The metrics of each kind of run as table rows (one row per run, or per task for benchmarks).

Each kind names its columns once (``COLUMNS``); the Markdown, the CSV and the plots
all read rows through them, so adding a metric is one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]


@dataclass(frozen=True)
class Column:
    """One metric column.

    Attributes:
        key: the row key (and the CSV column; ``<key>_mean``/``<key>_std`` for stats).
        header: the Markdown header.
        digits: decimals for floats; None prints values as they are.
        stat: the value is ``{"mean": f, "std": f}`` over the protocol's seeds.
    """

    key: str
    header: str
    digits: int | None = None
    stat: bool = False


COLUMNS: dict[str, list[Column]] = {
    "benchmark": [
        Column("predictor", "predictor"),
        Column("task", "task"),
        Column("mae", "MAE", 3, stat=True),
        Column("kendall", "Kendall τ", 3, stat=True),
        Column("spearman", "Spearman ρ", 3, stat=True),
        Column("precision_at_5", "P@5", 3, stat=True),
        Column("failures", "failures"),
        Column("llm_calls", "LLM calls"),
        Column("usd", "USD", 4),
    ],
    "search": [
        Column("algorithm", "algorithm"),
        Column("task", "task"),
        Column("hardware", "hardware"),
        Column("seed", "seed"),
        Column("best_score", "best score", 4),
        Column("latency_ms", "latency ms", 2),
        Column("gflops", "GFLOPs", 4),
        Column("evaluations", "evaluations"),
        Column("wall_seconds", "seconds", 1),
    ],
    "latency": [
        Column("hardware", "hardware"),
        Column("task", "task"),
        Column("samples", "archs"),
        Column("model", "model"),
        Column("mape", "test MAPE", 4),
        Column("kendall_tau", "test τ", 3),
        Column("retest_mape", "re-test MAPE", 4),
        Column("spread", "IQR/median", 4),
        Column("wall_seconds", "seconds", 1),
    ],
    "distill": [
        Column("task", "task"),
        Column("features", "features"),
        Column("labels", "labels used"),
        Column("mae", "held-out MAE", 3),
        Column("kendall", "held-out τ", 3),
        Column("epochs", "epochs"),
        Column("wall_seconds", "seconds", 1),
    ],
    "summary": [
        Column("task", "task"),
        Column("hardware", "hardware"),
        Column("predictor", "predictor"),
        Column("predicted_score", "predicted score", 4),
        Column("valid_bleu", "valid BLEU", 2),
        Column("test_bleu", "test BLEU", 2),
        Column("latency_ms", "latency ms", 2),
        Column("search_seconds", "search s", 1),
        Column("llm_calls", "LLM calls"),
        Column("usd", "USD", 4),
    ],
}


def dig(payload: Any, path: str) -> Any:
    """``payload["a"]["b"]`` for ``"a.b"``; None where any level is missing."""
    for part in path.split("."):
        if not isinstance(payload, dict):
            return None
        payload = payload.get(part)
    return payload


def _benchmark(p: dict[str, Any]) -> list[Row]:
    rows = []
    for task, res in (p.get("tasks") or {}).items():
        seeds = (res.get("seeds") or {}).values()
        rows.append({
            "predictor": p.get("predictor"), "task": task,
            **{key: res.get(key) for key in ("mae", "kendall", "spearman", "precision_at_5")},
            "failures": sum(int(seed.get("failures", 0) or 0) for seed in seeds),
            "llm_calls": dig(p, "cost.llm_calls"), "usd": dig(p, "cost.usd"),
        })
    return rows


def _search(p: dict[str, Any]) -> list[Row]:
    by_predictor = dig(p, "evaluations.by_predictor") or {}
    return [{
        "algorithm": p.get("algorithm"), "task": p.get("task"), "hardware": p.get("hardware"),
        "seed": p.get("seed"), "best_score": dig(p, "best.score"),
        "latency_ms": dig(p, "best.latency_ms"), "gflops": dig(p, "best.gflops"),
        "evaluations": sum(by_predictor.values()) if by_predictor else None,
        "wall_seconds": dig(p, "wall_seconds.total"),
    }]


def _latency(p: dict[str, Any]) -> list[Row]:
    hardware = p.get("hardware")
    return [{
        "hardware": hardware.get("name") if isinstance(hardware, dict) else hardware,
        "task": p.get("task"), "samples": dig(p, "training.samples"),
        "model": dig(p, "training.chosen"), "mape": dig(p, "test.mape"),
        "kendall_tau": dig(p, "test.kendall_tau"), "retest_mape": dig(p, "retest.mape"),
        "spread": dig(p, "spread.iqr_over_median.median"),
        "wall_seconds": dig(p, "wall_seconds.total"),
    }]


def _distill(p: dict[str, Any]) -> list[Row]:
    return [{
        "task": p.get("task"), "features": p.get("features"), "labels": dig(p, "labels.used"),
        "mae": dig(p, "heldout.mae"), "kendall": dig(p, "heldout.kendall"),
        "epochs": p.get("epochs"), "wall_seconds": p.get("wall_seconds"),
    }]


def _summary(p: dict[str, Any]) -> list[Row]:
    return [{
        "task": p.get("task"), "hardware": p.get("hardware"),
        "predictor": dig(p, "best.predictor"), "predicted_score": dig(p, "best.predicted_score"),
        "valid_bleu": dig(p, "retrained.valid_BLEU"), "test_bleu": dig(p, "retrained.test_BLEU"),
        "latency_ms": dig(p, "best.latency_ms"), "search_seconds": dig(p, "search_seconds.total"),
        "llm_calls": dig(p, "llm.calls"), "usd": dig(p, "llm.usd"),
    }]


EXTRACTORS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "benchmark": _benchmark,
    "search": _search,
    "latency": _latency,
    "distill": _distill,
    "summary": _summary,
}


def metric_rows(kind: str, payload: dict[str, Any]) -> list[Row]:
    """The rows of one run's output (benchmark: one per task)."""
    return EXTRACTORS[kind](payload)
