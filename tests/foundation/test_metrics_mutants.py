"""precision@k when some predictions failed (NaN): the top-k is taken over the finite pairs.

A labelling run where some LLM answers failed still reports precision@5; the share
must be out of the pairs that exist (``min(k, finite pairs)``), and the positions of
the failed answers must not shift which gold architectures count as the top-k.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmpp.metrics.agreement import precision_at_k

NAN = math.nan


def test_fewer_finite_predictions_than_k_is_out_of_the_finite_pairs() -> None:
    # 3 of 6 answers failed; the 3 left rank their gold scores perfectly.
    pred = np.array([3.0, 1.0, NAN, 2.0, NAN, NAN])
    gold = np.array([30.0, 10.0, 99.0, 20.0, 1.0, 2.0])
    assert precision_at_k(pred, gold, 5) == 1.0  # 3 of 3, not 3 of 5 (0.6)
    assert precision_at_k(pred, gold, 3) == 1.0
    assert precision_at_k(pred, gold, 2) == 1.0  # top-2 {0, 3} in both


def test_a_failed_gold_value_is_left_out_like_a_failed_prediction() -> None:
    pred = np.array([1.0, 2.0, 3.0, 4.0])
    gold = np.array([1.0, NAN, 3.0, NAN])
    assert precision_at_k(pred, gold, 5) == 1.0


def test_more_finite_pairs_than_k_is_out_of_k() -> None:
    # One failed answer; 5 finite pairs; top-2 of pred {1, 2}, of gold {1, 5}: 1 of 2.
    pred = np.array([NAN, 5.0, 4.0, 3.0, 2.0, 1.0])
    gold = np.array([0.0, 5.0, 1.0, 2.0, 3.0, 4.0])
    assert precision_at_k(pred, gold, 2) == pytest.approx(0.5)  # not 1/5 nor 1/6
    assert precision_at_k(pred, gold, 4) == pytest.approx(0.75)  # {1,2,3,4} vs {1,3,4,5}


def test_failed_answers_do_not_pull_their_gold_architectures_into_the_top_k() -> None:
    # The two best gold architectures have no prediction: the top-3 is among the rest.
    pred = np.array([NAN, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, NAN])
    gold = np.array([100.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 200.0])
    assert precision_at_k(pred, gold, 3) == 1.0


def test_edge_counts() -> None:
    assert math.isnan(precision_at_k(np.array([NAN, NAN]), np.array([1.0, 2.0]), 5))
    assert precision_at_k(np.array([NAN, 7.0]), np.array([1.0, 2.0]), 5) == 1.0
    assert precision_at_k(np.arange(6.0), -np.arange(6.0), 5) == pytest.approx(4 / 5)


def _reference_precision(pred: list[float], gold: list[float], k: int) -> float:
    """The definition: ties broken by position (the first listed ranks higher)."""
    pairs = [i for i in range(len(pred)) if math.isfinite(pred[i]) and math.isfinite(gold[i])]
    k = min(k, len(pairs))
    top = [set(sorted(pairs, key=lambda i, s=s: (-s[i], i))[:k]) for s in (pred, gold)]
    return len(top[0] & top[1]) / k


def test_ties_are_broken_by_position_in_both_rankings() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        pred = rng.integers(0, 3, 20).astype(float)
        gold = rng.integers(0, 3, 20).astype(float)
        for k in (3, 5):
            want = _reference_precision(pred.tolist(), gold.tolist(), k)
            assert precision_at_k(pred, gold, k) == pytest.approx(want)
            assert precision_at_k(gold, pred, k) == pytest.approx(want)


def test_the_default_is_precision_at_5() -> None:
    gold = np.arange(10.0)
    pred = gold.copy()
    pred[4] = 20.0  # ranked first, but 6th in gold
    assert precision_at_k(pred, gold) == pytest.approx(4 / 5)  # at 6 it would be 5/6


def test_missing_values_may_come_as_none() -> None:
    from llmpp.metrics.agreement import kendall_tau, mae, spearman_rho, summarize

    assert mae([1.0, None, 3.0], [2.0, 5.0, None]) == pytest.approx(1.0)
    assert mae([2.0, 5.0, None], [1.0, None, 3.0]) == pytest.approx(1.0)
    assert kendall_tau([1.0, None, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]) == pytest.approx(1.0)
    assert spearman_rho([1.0, 2.0, 3.0], [1.0, None, 2.0]) == pytest.approx(1.0)
    assert math.isnan(summarize([1.0, None])["mean"])


def test_rank_correlations_at_their_boundaries() -> None:
    import warnings

    from llmpp.metrics.agreement import kendall_tau, mae, spearman_rho

    for metric in (kendall_tau, spearman_rho):
        assert metric(np.array([1.0, 2.0]), np.array([3.0, 4.0])) == pytest.approx(1.0)  # 2 pairs
        assert metric(np.array([1.0, 2.0]), np.array([4.0, 3.0])) == pytest.approx(-1.0)
        assert math.isnan(metric(np.array([1.0, NAN]), np.array([3.0, 4.0])))
        # A spread of exactly 1 is not constant, on either side.
        assert metric(np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.5, 1.0])) == pytest.approx(1.0)
        assert metric(np.array([0.0, 0.5, 1.0]), np.array([1.0, 2.0, 3.0])) == pytest.approx(1.0)
        assert metric(np.ones(4), np.arange(4.0)) == 0.0
        assert metric(np.arange(4.0), np.ones(4)) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an all-failed run: NaN, and no numpy warning
        assert math.isnan(mae(np.array([NAN, NAN]), np.array([1.0, 2.0])))


def test_summary_of_one_seed_and_of_an_infinite_one() -> None:
    from llmpp.metrics.agreement import summarize

    assert summarize([3.0]) == {"mean": 3.0, "std": 0.0}
    for bad in ([], [1.0, math.inf], [NAN, 1.0]):
        got = summarize(bad)
        assert set(got) == {"mean", "std"} and all(math.isnan(v) for v in got.values())
