"""The runner's listeners, HS-NAS's phase switch as seen by the predictors, constant scores."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from llmpp.constraints import Constraint, NoConstraint
from llmpp.metrics.ranking import constant_scores
from llmpp.predictors.base import Predictor
from llmpp.search.base import SearchAlgorithm
from llmpp.search.listener import SearchListener
from llmpp.search.memo import MemoScorer
from llmpp.search.runner import SearchRunner
from llmpp.testing.search_contract import search_factory
from llmpp.testing.toy import TargetPredictor, ToyPredictor

SMALL = {"iterations": 6, "population_size": 20, "parents": 5, "mutations": 8, "crossovers": 8}


class Recording(SearchListener):
    """Remembers the hooks called, and which predictor ranked which iteration."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.ranked_by: dict[int, str] = {}

    def on_search_start(self, algorithm: SearchAlgorithm) -> None:
        self.events.append("start")

    def on_iteration_end(self, record, totals) -> None:
        self.events.append("iteration")
        self.ranked_by[record["iteration"]] = record["predictor"]
        assert set(totals["cache_hits"]) == set(totals["evaluations"])

    def on_search_end(self, result) -> None:
        self.events.append("end")


class Spy(Predictor):
    """Wraps a predictor and records, per call, the search iteration it was called in."""

    def __init__(self, inner: Predictor, clock: list[int]) -> None:
        self.inner, self.clock, self.called_at = inner, clock, []

    @property
    def name(self) -> str:
        return self.inner.name

    def fit(self, demonstrations):
        return self

    def predict(self, archs):
        self.called_at.append(self.clock[0])
        return self.inner.predict(archs)


class Clock(SearchListener):
    def __init__(self) -> None:
        self.now = [0]

    def on_iteration_end(self, record, totals) -> None:
        self.now[0] = record["iteration"] + 1


def _hs_nas_run(space, name: str, **overrides):
    clock, recording = Clock(), Recording()
    spies = {
        "llm_distill": Spy(ToyPredictor(space=space, seed=2, noise=0.3), clock.now),
        "supernet": Spy(TargetPredictor(space=space, seed=1), clock.now),
    }
    algo = search_factory(name, space, None, **{**SMALL, **overrides})(0)
    runner = SearchRunner(algorithm=algo, scorer=MemoScorer(spies), listeners=[clock, recording],
                          progress=False)
    return runner.run(resume=False), spies, recording


def test_search_hs_nas_fixed_switch_by_who_scored_which_iteration(mini_space):
    result, spies, recording = _hs_nas_run(mini_space, "hs_nas")  # switch at 0.5 * 6
    assert spies["llm_distill"].called_at == [0, 1, 2]
    assert spies["supernet"].called_at == [3, 4, 5]
    assert recording.ranked_by == {0: "llm_distill", 1: "llm_distill", 2: "llm_distill",
                                   3: "supernet", 4: "supernet", 5: "supernet"}
    # The first supernet iteration scores the whole population: no score carries over.
    assert result.history[3]["evaluations"] == result.history[3]["candidates"]
    assert result.best_predictor == "supernet"
    assert recording.events == ["start", *["iteration"] * 6, "end"]


def test_search_hs_nas_adaptive_switch_matches_its_schedule(mini_space):
    result, spies, _ = _hs_nas_run(mini_space, "hs_nas_adaptive", iterations=10)
    switched = result.extra["schedule"]["switched_at"]
    assert 3 <= switched <= 5, "adaptive switches between min_switch and half the iterations"
    assert spies["llm_distill"].called_at == list(range(switched))
    assert spies["supernet"].called_at == list(range(switched, 10))


class Constant(ToyPredictor):
    def predict(self, archs):
        return np.full(len(archs), 21.5)


def test_search_constant_predictor_is_flagged_once(mini_space, caplog):
    predictors = {"llm_distill": Constant(space=mini_space),
                  "supernet": ToyPredictor(space=mini_space)}
    algo = search_factory("hs_nas", mini_space, None, **SMALL)(0)
    with caplog.at_level(logging.WARNING, logger="llmpp.search.runner"):
        result = SearchRunner(algorithm=algo, scorer=MemoScorer(predictors),
                              progress=False).run(resume=False)
    assert result.constant_scores == ["llm_distill"]
    assert [r["constant_scores"] for r in result.history] == [True] * 3 + [False] * 3
    lines = [r.message for r in caplog.records if "cannot be ranked" in r.message]
    assert len(lines) == 1 and "llm_distill" in lines[0]


def test_search_cache_hits_counted(mini_space):
    predictor = ToyPredictor(space=mini_space)
    scorer = MemoScorer({"toy": predictor})
    archs = mini_space.sample(np.random.default_rng(0), 4)
    scorer.score("toy", archs)
    scorer.score("toy", archs[:3])
    assert scorer.hits["toy"] == 3 and scorer.evaluations["toy"] == 4


def test_constant_scores_helper():
    assert constant_scores([21.5] * 10)
    assert constant_scores([21.5] * 19 + [30.0])  # one value repeated by 95 %
    assert constant_scores([1.0, 1.0 + 1e-9, float("nan")])
    assert not constant_scores([1.0, 2.0, 3.0])
    assert not constant_scores([21.5] * 8 + [30.0, 31.0])  # 80 %: still ranks something
    assert not constant_scores([float("nan")] * 5) and not constant_scores([3.0])


def test_search_optional_hooks_have_defaults(mini_space):
    algo = search_factory("evolution", mini_space, None, **SMALL)(0)
    assert algo.pareto() == [] and algo.pareto_metric() == "gflops" and algo.describe() == {}
    assert algo.warm_start(lambda name, archs: np.zeros(len(archs))) is None
    nsga = search_factory("optuna_nsga2", mini_space, None)(0)
    assert nsga.pareto_metric() == nsga.objective.metric


def test_search_no_constraint_is_the_one_constraint_type(mini_space):
    free = NoConstraint()
    assert isinstance(free, Constraint) and free.is_satisfied(mini_space.largest())
    assert free.violations([mini_space.largest()] * 2).tolist() == [0.0, 0.0]
    with pytest.raises(TypeError):
        Constraint(limit=1.0)  # abstract: a constraint says what it measures
