"""The reusable contract every ``SearchAlgorithm`` must satisfy.

Each algorithm's tests call ``check_search_contract`` with a factory
``seed -> SearchAlgorithm``; ``fingerprint`` (also runnable as
``python -m llmpp.testing.search_contract <search> <space> <seed>``) gives the proposal
sequence a fresh process must reproduce for the same seed. Beyond the mechanics
(valid, unique, constrained, resumable, reproducible proposals) the contract checks
that the search *searches*: with a predictor whose optimum is known, its best must
improve over its iterations — a search that keeps its worst parents fails.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from llmpp.config import build
from llmpp.constraints import Constraint, MaxParams
from llmpp.search.base import SearchAlgorithm
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace
from llmpp.testing.toy import TargetPredictor, ToyPredictor
from llmpp.utils.paths import conf_dir

Factory = Callable[[int], SearchAlgorithm]
SMOKE = {
    "iterations": 4,
    "population_size": 16,
    "parents": 4,
    "mutations": 6,
    "crossovers": 6,
    "trials_per_iteration": 8,
}


def load_space(name: str) -> SearchSpace:
    return build(OmegaConf.load(conf_dir() / "space" / f"{name}.yaml"), "space")


def params_constraint(max_params: float) -> MaxParams:
    """The contract's constraint: at most ``max_params`` parameters without embeddings."""
    return MaxParams(limit=max_params / 1e6, vocab_size=1000, qkv_dim=128)


def search_factory(
    name: str, space: SearchSpace, constraint: Constraint | None, **overrides: Any
) -> Factory:
    """Build ``conf/search/<name>.yaml`` with smoke-sized budgets (keys it has)."""
    cfg = OmegaConf.load(conf_dir() / "search" / f"{name}.yaml")
    for key, value in {**SMOKE, **overrides}.items():
        if key in cfg:
            cfg[key] = value

    def factory(seed: int) -> SearchAlgorithm:
        return build(cfg, "search", space=space, constraint=constraint, seed=seed)

    return factory


def toy_scores(space: SearchSpace) -> Callable[[str, list[Architecture]], np.ndarray]:
    """Deterministic scores per predictor name (different names disagree slightly)."""
    cache: dict[str, ToyPredictor] = {}

    def score(name: str, archs: list[Architecture]) -> np.ndarray:
        if name not in cache:
            seed = sum(map(ord, name))
            cache[name] = ToyPredictor(space=space, seed=seed, noise=0.3, label=name)
        return cache[name].predict(archs)

    return score


def _step(algo: SearchAlgorithm, score: Callable[[str, list[Architecture]], np.ndarray]):
    archs = algo.ask()
    algo.tell(archs, score(algo.predictor(), archs))
    return archs


def fingerprint(factory: Factory, space: SearchSpace, seed: int) -> list[list[str]]:
    """The keys proposed at every iteration of a full run with toy scores."""
    algo, score = factory(seed), toy_scores(space)
    out = []
    while not algo.done:
        out.append([a.key() for a in _step(algo, score)])
    return out


def check_search_contract(
    factory: Factory, space: SearchSpace, constraint: Constraint | None = None
) -> None:
    """Assert the contract; raises ``AssertionError`` naming the broken promise."""
    score = toy_scores(space)
    algo = factory(7)
    assert isinstance(algo, SearchAlgorithm), "factory must build a SearchAlgorithm"
    assert algo.iteration == 0 and not algo.done, "a new search starts at iteration 0"
    assert algo.predictor() in algo.predictors(), "predictor() must be one of predictors()"
    while not algo.done:
        archs = algo.ask()
        assert archs, "ask must propose at least one architecture"
        assert algo.ask() == archs, "asking twice without tell must give the same proposals"
        keys = [a.key() for a in archs]
        assert len(set(keys)) == len(keys), "proposals must not repeat an architecture"
        for arch in archs:
            assert space.contains(arch), f"{arch.short()} is outside the space"
            if constraint is not None:
                assert constraint.is_satisfied(arch), f"{arch.short()} violates the constraint"
        before = algo.iteration
        algo.tell(archs, score(algo.predictor(), archs))
        assert algo.iteration == before + 1, "tell must advance one iteration"
    assert algo.best is not None and space.contains(algo.best.arch), "a finished search has a best"
    assert np.isfinite(algo.best.score), "the best score must be finite"
    assert algo.population(), "a finished search reports a population"
    _check_state_round_trip(factory, score)
    first, second = fingerprint(factory, space, 3), fingerprint(factory, space, 3)
    assert first == second, "the same seed must give the same proposals"
    assert fingerprint(factory, space, 4) != first, "another seed should give other proposals"
    check_search_improves(factory, space, constraint)


def feasible_target(space: SearchSpace, constraint: Constraint | None, seed: int) -> Architecture:
    """A random architecture satisfying ``constraint``: the known optimum of a test."""
    rng = np.random.default_rng([seed, 7919])  # not the searches' own stream (seed alone)
    for _ in range(10_000):
        arch = space.sample(rng)
        if constraint is None or constraint.is_satisfied(arch):
            return arch
    raise AssertionError("no architecture satisfies the constraint")


def best_trace(algo: SearchAlgorithm, score) -> list[float]:
    """Run ``algo`` to the end; the best score seen after each iteration."""
    trace, best = [], -np.inf
    while not algo.done:
        archs = algo.ask()
        values = score(algo.predictor(), archs)
        best = max(best, float(np.nanmax(values))) if len(values) else best
        algo.tell(archs, values)
        trace.append(best)
    return trace


def check_search_improves(
    factory: Factory, space: SearchSpace, constraint: Constraint | None = None,
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4),
) -> None:
    """The best improves on the first iteration's best in most seeds (known optimum)."""
    improved = 0
    for seed in seeds:
        target = TargetPredictor(space=space, target=feasible_target(space, constraint, seed))
        trace = best_trace(factory(seed), lambda name, archs, t=target: t.predict(archs))
        improved += trace[-1] > trace[0]
    assert improved > len(seeds) / 2, (
        f"the best improved over the first iteration in only {improved} of {len(seeds)} "
        "seeds with a known optimum: the search does not select good architectures"
    )


def _check_state_round_trip(factory: Factory, score) -> None:
    """A search restored from its JSON state continues exactly as the original."""
    original = factory(11)
    _step(original, score)
    state = json.loads(json.dumps(original.state_dict()))
    restored = factory(0)
    restored.load_state_dict(state)
    assert restored.iteration == original.iteration, "load_state_dict must restore the iteration"
    while not original.done:
        a, b = original.ask(), restored.ask()
        assert a == b, f"restored search diverged at iteration {original.iteration}"
        assert original.predictor() == restored.predictor(), "the schedule diverged"
        _step(original, score)
        _step(restored, score)
    assert original.best == restored.best, "restored search found another best"


def main(argv: list[str] | None = None) -> None:
    """Print the fingerprint of ``<search> <space> <seed> [max_params]`` as JSON."""
    args = list(sys.argv[1:] if argv is None else argv)
    space = load_space(args[1])
    constraint = params_constraint(float(args[3])) if len(args) > 3 else None
    print(json.dumps(fingerprint(search_factory(args[0], space, constraint), space, int(args[2]))))


if __name__ == "__main__":
    main()
