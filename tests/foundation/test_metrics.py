"""Benchmark metrics against their definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from llmpp.metrics.agreement import kendall_tau, mae, precision_at_k, spearman_rho, summarize


def test_mae_ignores_failures() -> None:
    assert mae(np.array([1.0, np.nan, 3.0]), np.array([2.0, 5.0, 3.0])) == pytest.approx(0.5)
    assert math.isnan(mae(np.array([np.nan]), np.array([1.0])))


def test_kendall_is_tau_b_with_ties() -> None:
    pred = np.array([1, 2, 2, 3, 5, 4.0])
    gold = np.array([1, 1, 2, 3, 4, 5.0])
    assert kendall_tau(pred, gold) == pytest.approx(
        stats.kendalltau(pred, gold, variant="b").statistic
    )
    assert kendall_tau(np.ones(4), np.arange(4.0)) == 0.0
    assert spearman_rho(np.arange(5.0), np.arange(5.0) ** 2) == pytest.approx(1.0)


def test_precision_at_k() -> None:
    gold = np.arange(10.0)
    assert precision_at_k(gold, gold, 5) == 1.0
    assert precision_at_k(-gold, gold, 5) == 0.0
    pred = gold.copy()
    pred[[9, 0]] = pred[[0, 9]]  # swap best and worst
    assert precision_at_k(pred, gold, 5) == pytest.approx(0.8)


def test_summary_uses_population_std() -> None:
    assert summarize([1.0, 3.0]) == {"mean": 2.0, "std": 1.0}
