"""The stage store and the step plan at their edges: the exact key, what a built step
leaves behind, the two ways a step is reused, and the plan's small helpers."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from llmpp.errors import ConfigError, CorruptFileError
from llmpp.pipeline.plan import lookup, step_config, uses_authors_gold
from llmpp.pipeline.store import StageStore, config_key
from llmpp.registry import steps

PIPELINE = steps()


def test_the_key_hashes_the_resolved_config_in_12_hex_digits() -> None:
    key = config_key(OmegaConf.create({"a": 1, "b": "${a}"}))
    assert key == config_key(OmegaConf.create({"b": 1, "a": 1}))
    assert len(key) == 12 and int(key, 16) >= 0
    # Values JSON cannot write (paths) are hashed as their text.
    assert config_key(OmegaConf.create({"p": Path("/x/y")})) == \
        config_key(OmegaConf.create({"p": "/x/y"}))


def _stage(cfg, out_dir):
    return {"x": cfg.x}


def test_a_built_step_leaves_its_resolved_config_and_timing(tmp_path, caplog) -> None:
    store = StageStore(tmp_path / "deep" / "store")
    cfg = OmegaConf.create({"x": 3, "z": "${x}"})
    result, reused = store.ensure("demo", cfg, _stage)
    assert not reused and 0.0 <= result["stage_seconds"] < 60.0
    out = Path(result["dir"])
    assert out == store.dir_for("demo", cfg)
    assert (out / "config.yaml").read_text() == "x: 3\nz: 3\n"  # resolved, as hashed
    with caplog.at_level(logging.INFO, logger="llmpp.pipeline.store"):
        again, reused = store.ensure("demo", cfg, _stage)
    assert reused and again == result
    assert f"demo: reusing {out}" in caplog.messages and "another run" not in caplog.text


def test_a_step_built_while_waiting_for_the_lock_is_reused(tmp_path, caplog, monkeypatch):
    store = StageStore(tmp_path)
    cfg = OmegaConf.create({"x": 5})
    built, _ = store.ensure("demo", cfg, _stage)
    real = store._load
    looks = []

    def load(stage, out_dir, result_type=None):  # the first look finds nothing: another
        looks.append(stage)  # run finishes meanwhile
        return (None, None) if len(looks) == 1 else real(stage, out_dir, result_type)

    monkeypatch.setattr(store, "_load", load)
    with caplog.at_level(logging.INFO, logger="llmpp.pipeline.store"):
        again, reused = store.ensure("demo", cfg, lambda c, d: pytest.fail("rebuilt"))
    assert reused and again == built
    assert f"demo: reusing {built['dir']} (built by another run)" in caplog.messages


def test_a_corrupt_result_names_the_folder_to_delete(tmp_path) -> None:
    store = StageStore(tmp_path)
    cfg = OmegaConf.create({"x": 1})
    folder = store.dir_for("demo", cfg)
    folder.mkdir(parents=True)
    (folder / "result.json").write_text("{not json")
    with pytest.raises(CorruptFileError) as err:
        store.cached("demo", cfg)
    assert str(err.value).startswith(f"{folder / 'result.json'} is corrupt (")
    assert str(err.value).endswith(f"); delete {folder} to recompute the demo step")


def test_plan_helpers() -> None:
    assert uses_authors_gold(OmegaConf.create({"task": {"gold_name": "wmt14.en-de"}}))
    assert not uses_authors_gold(OmegaConf.create({"task": {"gold_name": None}}))
    assert not uses_authors_gold(OmegaConf.create({"task": {}}))
    results = {"search": {"best": {"arch": {"k": 1}}}, "label": {"labels": "/x"}}
    assert lookup(results, "search.best.arch") == {"k": 1}
    assert lookup(results, "label.labels.deeper") is None  # a string has no keys
    assert lookup(results, "gold.gold_dir") is None


def test_the_content_config_is_resolved() -> None:
    from llmpp.pipeline.plan import content_config

    got = content_config(OmegaConf.create({"a": 1, "b": "${a}", "logger": {"x": 1}}))
    assert OmegaConf.to_container(got, resolve=False) == {"a": 1, "b": 1}


def test_step_config_resets_resume_and_needs_its_block() -> None:
    step = next(s for s in PIPELINE if s.name == "latency")
    run = OmegaConf.create({"seed": 1, "resume": "/old", "task": {}, "space": {},
                            "hardware": {}, "latency": {"n_archs": 3}})
    cfg = step_config(run, step, {})
    assert cfg.resume is None and cfg.n_archs == 3 and cfg.seed == 1
    del run["latency"]
    with pytest.raises(ConfigError) as err:
        step_config(run, step, {})
    assert str(err.value) == "the run config has no latency: block; restore conf/run.yaml"
