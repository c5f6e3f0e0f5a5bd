"""Agreement between predicted and gold scores.

Non-finite predictions (failed LLM answers) are left out pairwise. A metric over too
few pairs to define it is NaN ("n/a" in tables, null in JSON), never 0: a run whose
predictions all failed must not look like a predictor with no ranking skill.
"""

from __future__ import annotations

import math

import numpy as np


def _finite_pairs(pred: np.ndarray, gold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gold = np.asarray(pred, dtype=float), np.asarray(gold, dtype=float)
    ok = np.isfinite(pred) & np.isfinite(gold)
    return pred[ok], gold[ok]


def mae(pred: np.ndarray, gold: np.ndarray) -> float:
    p, g = _finite_pairs(pred, gold)
    return float(np.mean(np.abs(p - g))) if len(p) else math.nan


def kendall_tau(pred: np.ndarray, gold: np.ndarray) -> float:
    """Kendall tau-b (scipy's default, as in the paper's scripts).

    NaN under two finite pairs (undefined); 0 for constant input, which carries no
    ranking information (scipy would say NaN, but a constant predictor is a real answer).
    """
    p, g = _finite_pairs(pred, gold)
    if len(p) < 2:
        return math.nan
    if np.ptp(p) == 0 or np.ptp(g) == 0:
        return 0.0
    from scipy import stats  # seconds of import: only when a ranking is scored

    return float(stats.kendalltau(p, g).statistic)


def spearman_rho(pred: np.ndarray, gold: np.ndarray) -> float:
    """Spearman's rho; NaN and 0 as for :func:`kendall_tau`."""
    p, g = _finite_pairs(pred, gold)
    if len(p) < 2:
        return math.nan
    if np.ptp(p) == 0 or np.ptp(g) == 0:
        return 0.0
    from scipy import stats

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
    """Mean and population std (``np.std``), as the paper reports over seeds.

    An undefined (NaN) seed makes the summary undefined too, rather than silently
    averaging the seeds that happened to work.
    """
    arr = np.asarray(values, dtype=float)
    if len(arr) == 0 or not np.isfinite(arr).all():
        return {"mean": math.nan, "std": math.nan}
    return {"mean": float(np.mean(arr)), "std": float(np.std(arr))}
