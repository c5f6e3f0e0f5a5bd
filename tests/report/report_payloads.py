"""Stage outputs in PRODUCT.md's schemas, small enough to write by hand in a test."""

from __future__ import annotations

from typing import Any


def benchmark_payload(predictor: str, mae: float, tau: float, tasks=("wmt14_en_de",)) -> dict:
    """A benchmark.json in PRODUCT.md's schema (metrics differ per task by a fixed step)."""
    out: dict[str, Any] = {}
    for i, task in enumerate(tasks):
        out[task] = {
            "mae": {"mean": mae + i, "std": 0.1},
            "kendall": {"mean": tau, "std": 0.02},
            "spearman": {"mean": tau + 0.1, "std": 0.03},
            "precision_at_5": {"mean": 0.4, "std": 0.2},
            "seeds": {"123": {"mae": mae, "kendall": tau, "failures": 1, "predictions": []}},
        }
    return {"predictor": predictor, "protocol": {"seeds": [123]}, "tasks": out,
            "cost": {"llm_calls": 0, "usd": 0.0}, "wall_seconds": 0.5}


def search_payload(algorithm: str, seed: int, scores: list[float]) -> dict:
    return {
        "algorithm": algorithm, "task": "synthetic_en_de", "hardware": "cpu", "seed": seed,
        "constraint": {}, "best": {"arch": {}, "score": scores[-1], "latency_ms": None,
                                   "gflops": 0.05, "params": 1000},
        "iterations": [{"iteration": i, "predictor": "supernet", "best_score": s,
                        "mean_score": s - 1, "evaluations": 10, "wall_seconds": 1.5}
                       for i, s in enumerate(scores)],
        "wall_seconds": {"total": 1.5 * len(scores), "by_predictor": {"supernet": 3.0}},
        "evaluations": {"by_predictor": {"supernet": 10 * len(scores)}},
    }
