"""Operators, schedules and the memo on their own."""

from __future__ import annotations

import numpy as np
import pytest

from llmpp.search.memo import MemoScorer
from llmpp.search.operators import Generator, Sampling
from llmpp.search.schedule import AdaptiveSchedule, FixedSchedule
from llmpp.testing.search_contract import params_constraint
from llmpp.testing.toy import ToyPredictor


def test_search_generator_gives_up_on_impossible_constraint(mini_space):
    gen = Generator(constraint=params_constraint(1.0), max_tries_per_arch=5)
    out = gen.generate(lambda rng: Sampling()(mini_space, rng), 10, np.random.default_rng(0), set())
    assert out == []  # returns, never loops forever


def test_search_generator_deduplicates(mini_space):
    seen: set[str] = set()
    out = Generator().generate(lambda rng: mini_space.smallest(), 3, np.random.default_rng(0), seen)
    assert out == [mini_space.smallest()] and seen == {mini_space.smallest().key()}


def test_search_fixed_schedule_default_is_the_papers():
    schedule = FixedSchedule()
    schedule.bind(30)
    assert [schedule.predictor(i) for i in (0, 14, 15, 29)] == [
        "llm_distill", "llm_distill", "supernet", "supernet"]


def test_search_adaptive_schedule_switches_when_parents_settle():
    schedule = AdaptiveSchedule(patience=2, min_switch=2, overlap=0.8)
    schedule.bind(30)
    for it, keys in enumerate([list("abcde"), list("abcxy"), list("abcde"), list("abcde"),
                                list("abcde")]):
        schedule.observe(it, keys)
    # Unchanged parents at 2->3 and 3->4: two in a row, so iteration 5 uses the supernet.
    assert schedule.switch_at == 5
    assert schedule.predictor(4) == "llm_distill" and schedule.predictor(5) == "supernet"


def test_search_memo_scores_each_arch_once_in_one_batch(mini_space):
    predictor = ToyPredictor(space=mini_space)
    scorer = MemoScorer({"toy": predictor})
    archs = mini_space.sample(np.random.default_rng(0), 6)
    first = scorer.score("toy", archs + archs[:2])
    assert predictor.calls == 1 and scorer.evaluations["toy"] == 6
    again = scorer.score("toy", archs[::-1])
    assert predictor.calls == 1, "nothing new: no predictor call"
    np.testing.assert_allclose(again, first[:6][::-1])
    restored = MemoScorer({"toy": ToyPredictor(space=mini_space)})
    restored.load_state_dict(scorer.state_dict())
    np.testing.assert_allclose(restored.score("toy", archs), first[:6])
    assert restored.predictors["toy"].calls == 0


def test_search_memo_rejects_unknown_predictor(mini_space):
    with pytest.raises(Exception, match="supernet"):
        MemoScorer({"toy": ToyPredictor(space=mini_space)}).require(["supernet"])
