"""precision@k when some predictions failed (NaN): the top-k is taken over the finite pairs.

A labelling run where some LLM answers failed still reports precision@5; the share
must be out of the pairs that exist (``min(k, finite pairs)``), and the positions of
the failed answers must not shift which gold architectures count as the top-k.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmpp.evaluation.metrics import precision_at_k

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
