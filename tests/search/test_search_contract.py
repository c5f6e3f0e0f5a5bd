"""Every search algorithm passes the same contract (one line per algorithm)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llmpp.testing.search_contract import (
    check_search_contract,
    fingerprint,
    params_constraint,
    search_factory,
)

ALGORITHMS = ["evolution", "hs_nas", "hs_nas_adaptive", "random", "optuna_tpe", "optuna_nsga2"]
MAX_PARAMS = 8e5


@pytest.fixture(params=ALGORITHMS)
def algorithm(request):
    return request.param


def test_search_contract_unconstrained(algorithm, mini_space):
    check_search_contract(search_factory(algorithm, mini_space, None), mini_space)


def test_search_contract_constrained(algorithm, mini_space):
    constraint = params_constraint(MAX_PARAMS)
    assert not all(constraint.is_satisfied(a) for a in mini_space.sample(
        __import__("numpy").random.default_rng(0), 50)), "the constraint must bite"
    check_search_contract(search_factory(algorithm, mini_space, constraint), mini_space, constraint)


@pytest.mark.parametrize("name", ["hs_nas", "optuna_nsga2"])
def test_search_same_seed_fresh_process(name, mini_space):
    constraint = params_constraint(MAX_PARAMS)
    here = fingerprint(search_factory(name, mini_space, constraint), mini_space, 5)
    proc = subprocess.run(
        [sys.executable, "-m", "llmpp.testing.search_contract", name, "hat_mini", "5",
         str(MAX_PARAMS)],
        capture_output=True, text=True, check=True, timeout=120,
    )
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == here
