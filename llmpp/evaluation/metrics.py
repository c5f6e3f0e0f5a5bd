"""Agreement between predicted and gold scores."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def _finite_pairs(pred: np.ndarray, gold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gold = np.asarray(pred, dtype=float), np.asarray(gold, dtype=float)
    ok = np.isfinite(pred) & np.isfinite(gold)
    return pred[ok], gold[ok]


def mae(pred: np.ndarray, gold: np.ndarray) -> float:
    p, g = _finite_pairs(pred, gold)
    return float(np.mean(np.abs(p - g))) if len(p) else math.nan


def kendall_tau(pred: np.ndarray, gold: np.ndarray) -> float:
    """Kendall tau-b (scipy's default, as in the paper's scripts); 0 for constant input."""
    p, g = _finite_pairs(pred, gold)
    if len(p) < 2 or np.ptp(p) == 0 or np.ptp(g) == 0:
        return 0.0
    return float(stats.kendalltau(p, g).statistic)


def spearman_rho(pred: np.ndarray, gold: np.ndarray) -> float:
    p, g = _finite_pairs(pred, gold)
    if len(p) < 2 or np.ptp(p) == 0 or np.ptp(g) == 0:
        return 0.0
    return float(stats.spearmanr(p, g).statistic)


def precision_at_k(pred: np.ndarray, gold: np.ndarray, k: int = 5) -> float:
    """Share of the gold top-k that is also in the predicted top-k (stable tie order)."""
    p, g = _finite_pairs(pred, gold)
    if len(p) == 0:
        return math.nan
    k = min(k, len(p))
    top_pred = set(np.argsort(-p, kind="stable")[:k].tolist())
    top_gold = set(np.argsort(-g, kind="stable")[:k].tolist())
    return len(top_pred & top_gold) / k


METRICS = {
    "mae": mae,
    "kendall": kendall_tau,
    "spearman": spearman_rho,
    "precision_at_5": precision_at_k,
}


def summarize(values: list[float]) -> dict[str, float]:
    """Mean and population std (``np.std``), as the paper reports over seeds."""
    arr = np.asarray(values, dtype=float)
    return {"mean": float(np.mean(arr)), "std": float(np.std(arr))}
