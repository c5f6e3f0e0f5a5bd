"""A search must search: with a known optimum it climbs, and beats random sampling.

``TargetPredictor`` scores closeness to one known architecture, so "found good
architectures" is measurable. The inverted-selection mutant (parents = the worst)
is kept as a test: the contract suite must fail on it.
"""

from __future__ import annotations

import numpy as np
import pytest

import llmpp.search.evolution as evolution_module
from llmpp.search.base import Scored, rank_key
from llmpp.testing.search_contract import (
    best_trace,
    check_search_contract,
    feasible_target,
    params_constraint,
    search_factory,
)
from llmpp.testing.toy import TargetPredictor

BUDGET = {"iterations": 8, "population_size": 30, "parents": 8, "mutations": 11,
          "crossovers": 11, "trials_per_iteration": 22, "n_startup_trials": 10}
SEEDS = (0, 1, 2)
SMALLER = {"optuna_tpe": {"iterations": 6, "trials_per_iteration": 16}}  # TPE's cost grows


def _random_best(space, target: TargetPredictor, n: int, seed: int) -> float:
    """Best of ``n`` distinct uniform samples: random search at an equal budget."""
    rng, seen, archs = np.random.default_rng(1000 + seed), set(), []
    while len(archs) < n:
        arch = space.sample(rng)
        if arch.key() not in seen:
            seen.add(arch.key())
            archs.append(arch)
    return float(target.predict(archs).max())


def _run(name: str, space, seed: int) -> tuple[list[float], int, TargetPredictor]:
    target = TargetPredictor(space=space, target=feasible_target(space, None, seed))
    scored: set[str] = set()

    def score(predictor: str, archs):
        scored.update(a.key() for a in archs)
        return target.predict(archs)

    budget = {**BUDGET, **SMALLER.get(name, {})}
    trace = best_trace(search_factory(name, space, None, **budget)(seed), score)
    return trace, len(scored), target


@pytest.mark.parametrize("name", ["evolution", "hs_nas", "hs_nas_adaptive", "optuna_tpe"])
def test_search_climbs_and_beats_random_at_equal_evaluations(name, mini_space):
    found, random = [], []
    for seed in SEEDS:
        trace, evaluations, target = _run(name, mini_space, seed)
        assert trace[-1] > trace[0], f"seed {seed}: the best never improved on iteration 0"
        assert all(b >= a for a, b in zip(trace, trace[1:], strict=False)), "best-so-far went down"
        found.append(trace[-1])
        random.append(_random_best(mini_space, target, evaluations, seed))
    assert np.mean(found) > np.mean(random), (
        f"{name} found {np.mean(found):.3f} on average, random sampling at the same number "
        f"of evaluations {np.mean(random):.3f}"
    )


def _keep_the_worst(scored, k):
    """The mutant: parent selection inverted (worst first)."""
    order = sorted(range(len(scored)), key=lambda i: (rank_key(scored[i].score), i))
    return [scored[i] for i in order[:k]]


@pytest.mark.parametrize("name", ["evolution", "hs_nas"])
@pytest.mark.parametrize("constrained", [False, True])
def test_search_contract_fails_when_selection_keeps_the_worst(
    name, constrained, mini_space, monkeypatch
):
    constraint = params_constraint(8e5) if constrained else None
    factory = search_factory(name, mini_space, constraint)
    check_search_contract(factory, mini_space, constraint)  # the real selection passes
    monkeypatch.setattr(evolution_module, "top_k", _keep_the_worst)
    assert evolution_module.top_k([Scored(mini_space.smallest(), 1.0),
                                   Scored(mini_space.largest(), 2.0)], 1)[0].score == 1.0
    with pytest.raises(AssertionError, match="does not select good architectures"):
        check_search_contract(factory, mini_space, constraint)
