"""The reusable contract every ``Predictor`` must satisfy.

Each predictor's tests call ``check_predictor_contract`` with a factory, a task
context and demonstrations; the checks are the promises the benchmark harness and
the search rely on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from llmpp.predictors.base import Demonstration, Predictor, TaskContext
from llmpp.space.architecture import Architecture


def check_predictor_contract(
    factory: Callable[[], Predictor],
    context: TaskContext,
    demonstrations: Sequence[Demonstration],
    archs: Sequence[Architecture],
) -> None:
    """Assert the contract; raises ``AssertionError`` naming the broken promise."""
    assert len(archs) >= 3, "the contract needs at least three architectures to score"
    predictor = factory()
    assert isinstance(predictor, Predictor), "factory must build a Predictor"
    assert isinstance(predictor.name, str) and predictor.name, "name must be a non-empty string"
    predictor.setup(context)
    try:
        assert predictor.fit(list(demonstrations)) is predictor, "fit must return self"

        scores = predictor.predict(list(archs))
        assert isinstance(scores, np.ndarray), "predict must return a numpy array"
        assert scores.shape == (len(archs),), f"predict shape {scores.shape} != ({len(archs)},)"
        assert np.issubdtype(scores.dtype, np.floating), "scores must be floats"
        assert np.isfinite(scores).any(), "at least one score must be finite"

        again = predictor.predict(list(archs))
        np.testing.assert_allclose(again, scores, err_msg="predict must be deterministic")

        reversed_scores = predictor.predict(list(archs)[::-1])
        np.testing.assert_allclose(
            reversed_scores[::-1], scores, err_msg="a score must not depend on the batch order"
        )

        single = predictor.predict([archs[0]])
        np.testing.assert_allclose(single, scores[:1], err_msg="batching must not change scores")

        empty = predictor.predict([])
        assert empty.shape == (0,), "predict([]) must return an empty array"

        cost = predictor.cost()
        assert isinstance(cost, dict), "cost must be a dict"
    finally:
        predictor.close()
        predictor.close()  # closing twice is allowed
