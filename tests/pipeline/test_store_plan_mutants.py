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
from llmpp.registry import StageSpec, Step, steps

PIPELINE = steps()
SUPERNET_DOC = {"checkpoint": "/c", "task": "t", "space": "s", "space_hash": "h", "model": "m",
                "steps": 3, "resumed_from": None}


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


# ---- the step contracts: every message names what to fix ------------------------------
def _contract_error(plan) -> str:
    from llmpp.pipeline.plan import StepContractError, check_contracts

    with pytest.raises(StepContractError) as err:
        check_contracts(plan)
    return str(err.value)


def test_the_plan_given_is_the_one_checked() -> None:
    """Not the registered steps (which are sound): the plan passed in."""
    plan = [Step("a", "supernet", ()), Step("b", "retrain", (), inputs={"x": "a.nope"})]
    assert "declares no field 'nope'" in _contract_error(plan)


def test_an_input_from_no_earlier_step_names_the_step_to_fix() -> None:
    plan = [Step("b", "retrain", (), inputs={"arch": "search.best.arch"}),
            Step("search", "search", ())]  # after the step reading it
    assert _contract_error(plan) == (
        "step b: input arch reads search.best.arch, but no earlier step is named search; "
        "fix the step's inputs in llmpp/registry.py")


def test_the_field_is_the_first_key_after_the_step_even_deep_in_it() -> None:
    from llmpp.pipeline.plan import check_contracts

    # `checkpoint` is declared; what follows it is inside the field's value.
    check_contracts([Step("a", "supernet", ()),
                     Step("b", "retrain", (), inputs={"x": "a.checkpoint.inner.key"})])


def test_an_undeclared_field_lists_the_declared_ones() -> None:
    plan = [Step("a", "supernet", ()), Step("b", "retrain", (), inputs={"x": "a.ckpt"})]
    assert _contract_error(plan) == (
        "step b: input x reads a.ckpt, but the a step's result (SupernetResult) declares no "
        "field 'ckpt' (declared: checkpoint, task, space, space_hash, model, steps, "
        "resumed_from); rename the input or the field")


def test_a_stage_without_a_result_type_declares_nothing(monkeypatch) -> None:
    from llmpp import registry

    monkeypatch.setitem(registry._STAGES, "bare", StageSpec("bare", "no result type", "-"))
    plan = [Step("a", "bare", ()), Step("b", "retrain", (), inputs={"x": "a.out"})]
    assert _contract_error(plan) == (
        "step b: input x reads a.out, but the a step's result (no result type) declares no "
        "field 'out' (declared: none); rename the input or the field")


def test_a_missing_input_names_the_result_to_delete() -> None:
    from llmpp.pipeline.plan import StepContractError, step_input

    step = Step("b", "retrain", (), inputs={"arch": "search.best.arch"})
    for result, where in (({"dir": "/runs/search/abc"}, "/runs/search/abc"),
                          ({}, "its result.json")):
        with pytest.raises(StepContractError) as err:
            step_input({"search": result}, step, "arch")
        assert str(err.value) == (
            f"step b: input arch needs search.best.arch, which the search step's result lacks "
            f"({where}); delete that step's dir to recompute it, or fix the input in "
            "llmpp/registry.py")


def test_an_input_of_a_step_that_did_not_run_skips_only_that_input() -> None:
    step = Step("probe", "latency", ("seed",),
                inputs={"gold": "gold.gold_dir", "ckpt": "supernet.checkpoint"})
    cfg = step_config(OmegaConf.create({"seed": 1}), step, {"supernet": {"checkpoint": "/c"}})
    assert OmegaConf.to_container(cfg) == {"seed": 1, "resume": None, "ckpt": "/c"}


# ---- the store's output manifest and rebuilds, at their edges -----------------------------
def test_promised_files_are_the_named_files_inside_the_step_dir(tmp_path) -> None:
    from llmpp.pipeline.store import promised_files

    out, other = tmp_path / "step", tmp_path / "earlier.ckpt"
    (out / "gold" / "nested").mkdir(parents=True)
    other.write_text("an earlier step's")
    for name in ("a.pt", "b.pt", "config.yaml", "gold/.hidden", "gold/x.tmp",
                 "gold/.x.pt.1234.tmp", "gold/result.json", "gold/nested/seed0.jsonl"):
        (out / name).write_text(name)
    result = {"run_dir": str(out), "ckpts": [str(out / "a.pt"), (str(out / "b.pt"),)],
              "earlier": str(other), "gold": {"dir": str(out / "gold")}}
    got = [p.relative_to(out.resolve()).as_posix() for p in promised_files(out, result)]
    # Not the dir itself, nor a file outside it, an atomic write in flight or a result.
    assert got == ["a.pt", "b.pt", "gold/.hidden", "gold/nested/seed0.jsonl", "gold/x.tmp"]


def test_a_string_as_long_as_path_max_is_no_path(tmp_path) -> None:
    from llmpp.pipeline.store import promised_files

    (tmp_path / "a.pt").write_text("x")
    head = f"{tmp_path}/"
    for length, counted in ((4095, True), (4096, False)):  # PATH_MAX counts the NUL
        value = head + "./" * ((length - len(head) - 4) // 2) + "a.pt"
        value = value.replace(head, head + "/" * (length - len(value)), 1)
        assert len(value) == length
        assert bool(promised_files(tmp_path, {"ckpt": value})) is counted


def test_cached_returns_the_typed_result_of_an_intact_step(tmp_path) -> None:
    from llmpp.results import SupernetResult

    store, cfg = StageStore(tmp_path), OmegaConf.create({"x": 1})
    assert store.cached("demo", cfg) is None
    doc = SUPERNET_DOC
    store.ensure("demo", cfg, lambda c, d: doc)
    assert store.cached("demo", cfg)["steps"] == 3
    typed = store.cached("demo", cfg, SupernetResult)
    assert isinstance(typed, SupernetResult) and typed.steps == 3


def test_a_saved_result_lacking_a_field_names_its_file(tmp_path) -> None:
    from llmpp.results import SupernetResult

    store, cfg = StageStore(tmp_path), OmegaConf.create({"x": 1})
    result, _ = store.ensure("demo", cfg, lambda c, d: {"checkpoint": "/c"})
    with pytest.raises(CorruptFileError) as err:
        store.cached("demo", cfg, SupernetResult)
    assert str(err.value).startswith(f"{result['dir']}/result.json lacks the SupernetResult")


def _built_meanwhile(store, monkeypatch) -> None:
    """The first look at the step finds nothing: another run finishes it meanwhile."""
    real, looks = store._load, []

    def load(stage, out_dir, result_type=None):
        looks.append(stage)
        return (None, None) if len(looks) == 1 else real(stage, out_dir, result_type)

    monkeypatch.setattr(store, "_load", load)


def test_a_step_built_meanwhile_comes_back_typed(tmp_path, monkeypatch) -> None:
    from llmpp.results import SupernetResult

    store, cfg = StageStore(tmp_path), OmegaConf.create({"x": 1})
    doc = SUPERNET_DOC
    store.ensure("demo", cfg, lambda c, d: doc)
    _built_meanwhile(store, monkeypatch)
    again, reused = store.ensure("demo", cfg, lambda c, d: pytest.fail("rebuilt"),
                                 SupernetResult)
    assert reused and isinstance(again, SupernetResult)


@pytest.mark.parametrize("meanwhile", [False, True])
def test_a_corrupt_result_names_the_step(tmp_path, monkeypatch, meanwhile) -> None:
    store, cfg = StageStore(tmp_path), OmegaConf.create({"x": 1})
    folder = store.dir_for("demo", cfg)
    folder.mkdir(parents=True)
    (folder / "result.json").write_text("{not json")
    if meanwhile:  # corrupt when looked at again under the lock
        _built_meanwhile(store, monkeypatch)
    with pytest.raises(CorruptFileError, match=r"to recompute the demo step$"):
        store.ensure("demo", cfg, lambda c, d: pytest.fail("built over a corrupt result"))


def test_the_rebuild_warning_names_step_file_and_dir(tmp_path, caplog) -> None:
    store, cfg = StageStore(tmp_path), OmegaConf.create({"x": 1})

    def stage(c, d):
        (d / "labels.jsonl").write_text("25.0")
        return {"labels": str(d / "labels.jsonl")}

    first, _ = store.ensure("demo", cfg, stage)
    out = Path(first["dir"])
    (out / "labels.jsonl").write_text("26.0")
    with caplog.at_level(logging.WARNING, logger="llmpp.pipeline.store"):
        store.ensure("demo", cfg, stage)
    assert caplog.messages == [
        f"demo: {out}/labels.jsonl was modified (its SHA-256 differs) since the step "
        f"finished; rebuilding it in {out}"]


def test_a_discarded_step_goes_even_when_some_files_cannot_be_deleted(tmp_path,
                                                                      monkeypatch) -> None:
    """On NFS a file still open elsewhere cannot be deleted (EBUSY on its `.nfs*` copy):
    the rebuild goes on, and an earlier kill's leftover is cleared by the next discard."""
    import errno
    import os

    from llmpp.pipeline import store as store_module

    out = tmp_path / "step"
    old = tmp_path / ".step.discarded-1"  # an earlier kill's, still holding an open file
    for folder in (out, old):
        folder.mkdir()
        (folder / "labels.jsonl").write_text("x")
        (folder / ".nfs0001").write_text("open elsewhere")
    real = os.unlink

    def unlink(path, *args, **kwargs):
        if os.fspath(path).rsplit("/", 1)[-1].startswith(".nfs"):
            raise OSError(errno.EBUSY, "Device or resource busy", path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    store_module.discard(out)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [".nfs0001"] * 2
    monkeypatch.setattr(os, "unlink", real)  # the files were closed
    (tmp_path / "step").mkdir()
    store_module.discard(tmp_path / "step")
    assert list(tmp_path.iterdir()) == []


def test_interpolations_resolve_in_the_step_config_after_its_inputs() -> None:
    """A shared key or the step's block may point at an input: it sees the input's value,
    not the run config's placeholder (resolved in the step's config, not the run's)."""
    step = Step("probe", "latency", ("a", "b"), inputs={"a.path": "supernet.checkpoint"},
                block="probe")
    run = OmegaConf.create({"a": {"path": None}, "b": {"ckpt": "${a.path}"},
                            "probe": {"ckpt": "${a.path}"}})
    cfg = step_config(run, step, {"supernet": {"checkpoint": "/c"}})
    assert cfg.b.ckpt == "/c" and cfg.ckpt == "/c"
