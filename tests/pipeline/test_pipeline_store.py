"""The main job's content-addressed stage store and step configs."""

from __future__ import annotations

import json

from omegaconf import OmegaConf

from llmpp.pipeline.store import StageStore, config_key


def test_store_runs_once_and_reuses(tmp_path) -> None:
    calls = []

    def stage(cfg, out_dir):
        calls.append(out_dir)
        (out_dir / "artifact.txt").write_text(str(cfg.x))
        return {"artifact": str(out_dir / "artifact.txt")}

    store = StageStore(tmp_path)
    first, reused = store.ensure("demo", OmegaConf.create({"x": 1}), stage)
    assert not reused and len(calls) == 1
    again, reused = store.ensure("demo", OmegaConf.create({"x": 1}), stage)
    assert reused and len(calls) == 1 and again["artifact"] == first["artifact"]
    other, reused = store.ensure("demo", OmegaConf.create({"x": 2}), stage)
    assert not reused and other["dir"] != first["dir"]
    assert json.loads(
        (tmp_path / "demo" / config_key(OmegaConf.create({"x": 2})) / "result.json").read_text()
    )


def test_a_killed_stage_resumes_in_the_same_dir(tmp_path) -> None:
    store = StageStore(tmp_path)
    cfg = OmegaConf.create({"x": 1})

    def killed(cfg, out_dir):
        (out_dir / "partial").write_text("half")
        raise KeyboardInterrupt

    try:
        store.ensure("demo", cfg, killed)
    except KeyboardInterrupt:
        pass
    seen = {}

    def resumed(cfg, out_dir):
        seen["partial"] = (out_dir / "partial").read_text()
        return {}

    _, reused = store.ensure("demo", cfg, resumed)
    assert not reused and seen["partial"] == "half"


def test_key_ignores_key_order_but_not_values() -> None:
    a = OmegaConf.create({"a": 1, "b": {"c": [1, 2]}})
    b = OmegaConf.create({"b": {"c": [1, 2]}, "a": 1})
    assert config_key(a) == config_key(b)
    assert config_key(a) != config_key(OmegaConf.create({"a": 1, "b": {"c": [2, 1]}}))
