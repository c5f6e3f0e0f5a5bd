"""The search's memo, schedules and operators at their edges: accounting, state that a
resumed search reloads, boundaries of the adaptive switch, and the generator's budget."""

from __future__ import annotations

import numpy as np
import pytest

from llmpp.constraints import MaxLatency
from llmpp.errors import ConfigError
from llmpp.search.memo import MemoScorer
from llmpp.search.operators import Crossover, Generator, Mutation, Sampling
from llmpp.search.schedule import AdaptiveSchedule, FixedSchedule


class Counting:
    def __init__(self) -> None:
        self.seen = 0

    def predict(self, archs):
        self.seen += len(archs)
        return [float(i) for i in range(len(archs))]

    def cost(self):
        return {"llm_calls": self.seen}


def test_memo_accounting_and_rows(mini_space) -> None:
    archs = mini_space.sample(np.random.default_rng(0), 6)
    memo = MemoScorer({"p": Counting(), "q": Counting()})
    assert memo.calls == {"p": 0, "q": 0} and memo.seconds == {"p": 0.0, "q": 0.0}
    first = memo.score("p", archs[:4])
    assert first.dtype == np.float64
    memo.score("p", archs[2:])  # 2 seen, 2 new
    assert memo.evaluations["p"] == 6 and memo.calls["p"] == 2 and memo.hits["p"] == 2
    assert 0.0 < memo.seconds["p"] < 5.0
    memo.score("p", archs)  # all seen: no call
    assert memo.calls["p"] == 2 and memo.hits["p"] == 8
    rows = memo.rows()
    assert [r["key"] for r in rows] == [a.key() for a in archs]
    assert rows[0] == {"key": archs[0].key(), "arch": archs[0], "p": 0.0, "q": None}
    assert memo.cost() == {"p": {"llm_calls": 6}, "q": {"llm_calls": 0}}


def test_memo_state_reloads_into_a_fresh_memo(mini_space) -> None:
    archs = mini_space.sample(np.random.default_rng(1), 3)
    memo = MemoScorer({"p": Counting()})
    memo.score("p", archs)
    memo.score("p", archs)
    state = memo.state_dict()
    assert set(state) == {"archs", "memo", "evaluations", "calls", "hits", "seconds", "cost"}
    fresh = MemoScorer({"p": Counting(), "new": Counting()})
    fresh.load_state_dict(state)
    assert fresh.archs == memo.archs and fresh.memo["p"] == memo.memo["p"]
    assert (fresh.evaluations, fresh.calls, fresh.hits) == (
        {"p": 3, "new": 0}, {"p": 1, "new": 0}, {"p": 3, "new": 0})
    assert fresh.seconds == {"p": memo.seconds["p"], "new": 0.0}
    assert fresh.memo["new"] == {}
    old = {k: v for k, v in state.items() if k not in ("archs", "hits")}  # an older file
    older = MemoScorer({"p": Counting()})
    older.load_state_dict(old)
    assert older.archs == {} and older.hits == {"p": 0}


def test_a_resumed_memo_counts_the_cost_paid_before_the_restart(mini_space) -> None:
    archs = mini_space.sample(np.random.default_rng(2), 5)
    memo = MemoScorer({"p": Counting()})
    memo.score("p", archs[:3])
    state = memo.state_dict()
    assert state["cost"] == {"p": {"llm_calls": 3}}
    fitted = Counting()
    fitted.seen = 2  # cost a predictor pays again in every process (its fit): not doubled
    fresh = MemoScorer({"p": fitted, "new": Counting()})
    fresh.load_state_dict(state)
    assert fresh.cost() == {"p": {"llm_calls": 3}, "new": {"llm_calls": 0}}
    fresh.score("p", archs)  # 3 memoised, 2 reach the predictor
    assert fresh.cost()["p"] == {"llm_calls": 5}
    assert fresh.state_dict()["cost"]["p"] == {"llm_calls": 5}


def test_memo_refuses_bad_answers_and_names_what_is_configured(mini_space) -> None:
    class Short:
        def predict(self, archs):
            return [1.0]

    memo = MemoScorer({"b": Short(), "a": Counting()})
    with pytest.raises(RuntimeError, match=r"predictor b returned \(1,\) for 2"):
        memo.score("b", mini_space.sample(np.random.default_rng(2), 2))
    with pytest.raises(ConfigError) as err:
        memo.require(["a", "c"])
    assert str(err.value) == (
        "the search needs predictor 'c' but only a, b are configured; add it under "
        "search.predictors"
    )
    with pytest.raises(ConfigError, match="but only none are configured"):
        MemoScorer({}).require(["x"])


def test_fixed_schedule_switch_points_and_state() -> None:
    never = FixedSchedule()
    assert never.switch_at == -1 and never.predictor(0) == "supernet"  # unbound: the 2nd
    fixed = FixedSchedule(first="a", then="b", switch_at=4)
    fixed.bind(30)  # an explicit switch point is kept
    assert fixed.switch_at == 4 and fixed.requested_switch == 4
    assert [fixed.predictor(i) for i in (3, 4)] == ["a", "b"]
    assert fixed.describe() == {"kind": "fixed", "first": "a", "then": "b", "switch_at": 4}
    assert fixed.state_dict() == {"switch_at": 4}
    other = FixedSchedule(switch_fraction=0.2)
    other.load_state_dict({"switch_at": "7"})
    assert other.switch_at == 7
    other.bind(10)
    assert other.switch_at == 2


def test_adaptive_schedule_defaults_and_boundaries() -> None:
    s = AdaptiveSchedule()
    assert (s.overlap, s.patience, s.min_switch, s.first, s.then) == (
        0.8, 2, 3, "llm_distill", "supernet")
    assert (s.previous, s.stable, s.switch_fraction) == ([], 0, 0.5)
    s.bind(10)
    assert s.switch_at == 5
    capped = AdaptiveSchedule(first="x", then="y", max_switch=4, switch_fraction=0.9)
    capped.bind(30)
    assert capped.switch_at == 4 and capped.predictor(3) == "x" and capped.predictor(4) == "y"
    # Overlap exactly at the threshold counts as unchanged; one key of 5 new does not at 1.0.
    edge = AdaptiveSchedule(overlap=0.8, patience=1, min_switch=0)
    edge.bind(30)
    edge.observe(0, list("abcde"))
    edge.observe(1, list("abcdx"))  # 4/5 = 0.8 shared
    assert edge.overlaps == [0.8] and edge.stable == 1 and edge.switch_at == 2
    single = AdaptiveSchedule(overlap=1.0, patience=1, min_switch=0)
    single.bind(30)
    single.observe(0, ["a"])
    single.observe(1, ["a"])
    assert single.overlaps == [1.0] and single.switch_at == 2
    late = AdaptiveSchedule(patience=1, min_switch=0, max_switch=3)
    late.bind(30)
    late.observe(3, ["a"])  # at the switch point: no longer observed
    assert late.previous == []


def test_adaptive_schedule_state_and_description() -> None:
    s = AdaptiveSchedule(first="x", then="y", overlap=0.5, patience=3, min_switch=2)
    s.bind(20)
    s.observe(0, ["a", "b"])
    s.observe(1, ["a", "c"])
    assert s.describe() == {"kind": "adaptive", "first": "x", "then": "y", "overlap": 0.5,
                            "patience": 3, "min_switch": 2, "switched_at": 10}
    state = s.state_dict()
    assert state == {"switch_at": 10, "previous": ["a", "c"], "stable": 1, "overlaps": [0.5]}
    again = AdaptiveSchedule()
    again.load_state_dict(state)
    assert again.state_dict() == state


def test_mutation_and_crossover(mini_space) -> None:
    rng = np.random.default_rng(0)
    parents = mini_space.sample(rng, 2)
    assert Mutation(prob=0.0)(mini_space, parents[:1], rng) == parents[0]
    assert Mutation().prob == 0.3
    changed = [Mutation(prob=1.0)(mini_space, parents[:1], rng) for _ in range(5)]
    assert any(c != parents[0] for c in changed)
    for bad in (-0.1, 1.1):
        with pytest.raises(ValueError, match=f"mutation probability {bad} is not in"):
            Mutation(prob=bad)
    Mutation(prob=1.0)
    assert Crossover()(mini_space, parents[:1], rng) is parents[0]
    genes = [mini_space.to_gene(p) for p in parents]
    for _ in range(5):
        child = mini_space.to_gene(Crossover()(mini_space, parents, rng))
        assert all(c in (a, b) for c, a, b in zip(child, *genes, strict=True))


def test_generator_budget_and_skips(mini_space, caplog) -> None:
    assert Generator().max_tries_per_arch == 200
    draws = []

    def drawing(rng):
        draws.append(1)
        return Sampling()(mini_space, rng)

    tight = MaxLatency(limit=1.0, latency=lambda a: 2.0)  # nothing satisfies it
    assert Generator(constraint=tight, max_tries_per_arch=3).generate(
        drawing, 4, np.random.default_rng(0), set()) == []
    assert len(draws) == 12  # exactly n x tries
    assert "generated 0 of 4 architectures in 12 tries: the constraint is tight or the " \
        "space is nearly exhausted" in caplog.text
    caplog.clear()
    seen = {mini_space.smallest().key()}
    picks = iter([mini_space.smallest(), mini_space.largest()])
    out = Generator().generate(lambda rng: next(picks), 1, np.random.default_rng(0), seen)
    assert out == [mini_space.largest()] and "generated" not in caplog.text
    assert Generator(max_tries_per_arch=0).generate(
        lambda rng: mini_space.largest(), 1, np.random.default_rng(0), set()) == [
        mini_space.largest()]  # at least one try


def test_survivors_of_the_first_measurement(mini_space) -> None:
    # Two parents are crossed, not copied.
    rng = np.random.default_rng(3)
    parents = [mini_space.smallest(), mini_space.largest()]
    children = [Crossover()(mini_space, parents, rng) for _ in range(10)]
    assert any(c not in parents for c in children)
    # The adaptive schedule's latest switch follows its fraction.
    s = AdaptiveSchedule(switch_fraction=0.2)
    s.bind(10)
    assert s.switch_at == 2
    # A zero per-architecture budget still allows exactly one try.
    picks = iter([mini_space.smallest(), mini_space.largest()])
    seen = {mini_space.smallest().key()}
    assert Generator(max_tries_per_arch=0).generate(
        lambda r: next(picks), 1, np.random.default_rng(0), seen) == []


def test_gene_crossover_copies_a_lone_parent_and_crosses_two(mini_space) -> None:
    a = mini_space.to_gene(mini_space.largest())
    b = mini_space.to_gene(mini_space.smallest())
    lone = Crossover().gene(mini_space, [a], np.random.default_rng(0))
    assert lone == a and lone is not a
    # Two parents are crossed, not copied: over a few draws a child mixes both.
    children = [Crossover().gene(mini_space, [a, b], np.random.default_rng(s)) for s in range(5)]
    assert any(c not in (a, b) for c in children)


def test_architecture_draws_come_back_without_a_gene(mini_space) -> None:
    pairs = Generator().generate_genes(mini_space.sample, 3, np.random.default_rng(0), set())
    assert len(pairs) == 3 and all(gene is None for _, gene in pairs)
    genes = Generator().generate_genes(mini_space.sample_gene, 2, np.random.default_rng(0),
                                       set(), decode=mini_space.from_gene)
    assert all(mini_space.from_gene(gene) == arch for arch, gene in genes)
