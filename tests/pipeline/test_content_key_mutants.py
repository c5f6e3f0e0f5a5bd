"""Every setting a step reads reaches its content key; only the logger stays out.

A step's output is reused whenever its content key matches, so a setting the key
misses silently reuses another configuration's artifact (``llmpp run seed=2``
reusing ``seed=1``'s supernet). Checked in three parts that together cover every
key: each shared choice and each key of the step's block is in the step's content
config with the run's value; the hash changes with every leaf of a config; and,
end to end, the root seed and each earlier step's output change every key that
depends on them.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from omegaconf import DictConfig, OmegaConf, open_dict
from test_run_config import RESULTS  # the same fake earlier results as the plan tests

from llmpp.pipeline.plan import RUN_ONLY, content_config, lookup, step_config
from llmpp.pipeline.store import config_key
from llmpp.registry import stage, steps

PIPELINE = steps()



@pytest.fixture(scope="module")
def run_cfg() -> DictConfig:
    from llmpp.config import compose

    return compose("run", [])


@pytest.fixture(scope="module")
def base_keys(run_cfg) -> dict[str, str]:
    return {step.name: config_key(content(run_cfg, step)) for step in PIPELINE}


def content(run_cfg: DictConfig, step, results=RESULTS) -> DictConfig:
    return content_config(step_config(run_cfg, step, results))


@pytest.mark.parametrize("step", PIPELINE, ids=lambda s: s.name)
def test_every_shared_and_block_key_is_in_the_content_with_its_value(run_cfg, step) -> None:
    got = OmegaConf.to_container(content(run_cfg, step), resolve=True)
    expected = run_cfg.copy()  # the run config as the step sees it: its inputs filled in
    with open_dict(expected):
        for dotted, source in step.inputs.items():
            OmegaConf.update(expected, dotted, lookup(RESULTS, source), force_add=True)
            if step.block and not step.nested:  # the block is the step's root, beside its inputs
                OmegaConf.update(expected, f"{step.block}.{dotted}", lookup(RESULTS, source),
                                 force_add=True)
    plain = OmegaConf.to_container(expected, resolve=True)
    inputs = {dotted.split(".")[0] for dotted in step.inputs}
    shared = [k for k in step.shared if k in run_cfg and k not in RUN_ONLY]
    # A nested block (the search's) keeps its name; the others are the step's root.
    nested = [step.block] if step.nested else []
    block = list(run_cfg[step.block]) if step.block and not step.nested else []
    resume = {"resume"} if stage(step.stage).resume else set()  # only where honoured
    assert set(got) == {*shared, *nested, *block, *inputs, *resume}
    for key in [*shared, *nested]:
        assert got[key] == plain[key], f"{step.name}: {key}"
    for key in block:
        if key not in inputs:  # an input replaces the block's placeholder
            assert got[key] == plain[step.block][key], f"{step.name}: {step.block}.{key}"


def leaves(node: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in leaves(v, (*path, k))]
    if isinstance(node, list) and node:
        return [p for i, v in enumerate(node) for p in leaves(v, (*path, i))]
    return [path]


def changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if value is None:
        return 0
    if isinstance(value, list):
        return [0]
    return f"{value}-other"


def test_the_hash_sees_every_leaf_and_not_the_key_order() -> None:
    plain = {
        "seed": 1, "task": {"name": "t", "vocab_size": 8000},
        "trainer": {"max_steps": 1200, "precision": None, "deterministic": False},
        "optim": {"max_lr": 0.001, "betas": [0.9, 0.98]}, "resume": None, "arch": {},
    }
    base = config_key(OmegaConf.create(plain))
    assert config_key(OmegaConf.create(dict(reversed(list(plain.items()))))) == base
    for path in leaves(plain):
        other = copy.deepcopy(plain)
        node = other
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = changed(node[path[-1]])
        assert config_key(OmegaConf.create(other)) != base, ".".join(map(str, path))


def test_the_root_seed_reaches_every_step(run_cfg, base_keys) -> None:
    other = run_cfg.copy()
    with open_dict(other):
        other.seed = int(run_cfg.seed) + 1
    for step in PIPELINE:
        assert config_key(content(other, step)) != base_keys[step.name], step.name


def test_every_input_from_an_earlier_step_reaches_the_key(run_cfg, base_keys) -> None:
    for step in PIPELINE:
        base = base_keys[step.name]
        for dotted, source in step.inputs.items():
            moved = copy.deepcopy(RESULTS)
            origin, *path = source.split(".")
            node = moved[origin]
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = ({"encoder-embed-dim-subtransformer": 96}
                              if isinstance(node[path[-1]], dict) else f"{node[path[-1]]}.other")
            assert config_key(content(run_cfg, step, moved)) != base, f"{step.name}: {dotted}"
