"""``constant_scores``: when a predictor's scores cannot rank anything, at its boundaries."""

from __future__ import annotations

import math

import numpy as np

from llmpp.metrics.ranking import constant_scores, constant_warning


def test_too_few_finite_scores_are_not_constant() -> None:
    assert not constant_scores([])
    assert not constant_scores([5.0])
    assert not constant_scores([5.0, math.nan, math.inf])
    assert constant_scores([5.0, math.nan, 5.0])  # the two finite ones agree
    assert constant_scores([5, None, 5])  # a failed answer may come as None


def test_equal_up_to_the_relative_tolerance() -> None:
    assert constant_scores([20.0, 20.0 + 1e-5])  # spread 1e-5 <= 1e-6 * 20
    assert not constant_scores([20.0, 20.0 + 1e-4, 25.0])
    assert not constant_scores([20.0, 20.0 + 1e-4])  # spread 1e-4 > 2e-5
    # Small magnitudes use an absolute floor of rtol (max(1, |x|)).
    assert constant_scores([1e-7, 2e-7, 5e-7, 9e-7])
    assert not constant_scores([1e-5, 3e-5, 5e-5, 9e-5])
    assert constant_scores([20.0, 20.05], rtol=1e-2)
    assert constant_scores([-30.0, -30.0 - 2e-5])  # the magnitude, not the signed value
    # The boundary: a spread of exactly rtol * max(1, |x|) is still constant.
    assert constant_scores([0.0, 1e-6])
    assert not constant_scores([0.0, 1.5e-6])


def test_one_value_repeated_by_a_share_of_the_items() -> None:
    nine_of_ten = [21.5] * 9 + [30.0]
    assert constant_scores(nine_of_ten)  # 9 >= 0.9 * 10
    assert not constant_scores([21.5] * 8 + [30.0, 31.0])  # 8 < 9
    assert not constant_scores(nine_of_ten, share=0.95)
    assert constant_scores([21.5] * 8 + [30.0, 31.0], share=0.8)
    # Repeats are counted after rounding to 9 decimals, over the finite values only.
    assert constant_scores([21.5, 21.5 + 3e-10] * 5 + [30.0, math.nan])
    assert not constant_scores(np.arange(10.0))


def test_warning_names_what_and_how_many() -> None:
    line = constant_warning("search: predictor x", 12)
    assert line.startswith("search: predictor x: (nearly) the same score for all 12 architectures")
    assert line.endswith(
        "cannot be ranked; check the teacher's labels (a small LLM may repeat one demonstration)"
    )
