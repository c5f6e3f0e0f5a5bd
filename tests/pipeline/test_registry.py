"""The stage registry is the one list: the CLI, the README, `llmpp run` and conf/run.yaml
follow it, and a stage or step added by one registration runs everywhere."""

from __future__ import annotations

import ast
import importlib.util
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from llmpp import cli, registry
from llmpp.errors import ConfigError
from llmpp.pipeline.plan import StepContractError, check_contracts, step_config
from llmpp.registry import StageSpec, Step, preset_stages, stages, steps
from llmpp.results import StageResult, SupernetResult

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def scratch_registry(monkeypatch):
    """Registrations made by a test vanish after it."""
    monkeypatch.setattr(registry, "_STAGES", dict(registry._STAGES))
    monkeypatch.setattr(registry, "_STEPS", list(registry._STEPS))
    return registry


# ---- everything else follows the registry ------------------------------------------------
def test_the_readme_stage_table_is_the_registry() -> None:
    assert registry.stage_table() in (ROOT / "README.md").read_text()


def test_run_yaml_places_one_step_block_per_registered_step() -> None:
    defaults = OmegaConf.load(ROOT / "conf" / "run.yaml").defaults
    placed = {}
    for entry in defaults:
        text = str(entry)
        if text.startswith("steps/"):
            stage, _, block = text.removeprefix("steps/").partition("@")
            placed[block] = stage
    assert placed == registry.run_blocks()  # the search's too: steps/search@search


def test_usage_lists_every_registered_stage(capsys) -> None:
    assert cli.main(["--help"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()
              if line.startswith("  ")]
    assert listed[: len(stages())] == list(stages())


@pytest.mark.parametrize("spec", list(stages().values()), ids=lambda s: s.name)
def test_every_stage_has_its_module_config_and_functions(spec: StageSpec) -> None:
    """Checked from the source (no torch import): main, the run function, the config."""
    origin = importlib.util.find_spec(spec.module).origin
    tree = ast.parse(Path(origin).read_text())
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert "main" in defined
    assert spec.run is None or spec.run in defined
    assert (ROOT / "conf" / f"{spec.config}.yaml").is_file()
    assert f'config_name="{spec.config}"' in Path(origin).read_text()


@pytest.mark.parametrize("spec", list(stages().values()), ids=lambda s: s.name)
def test_every_stage_returns_its_declared_result_type(spec: StageSpec) -> None:
    """Every stage has ``run`` returning the ``StageResult`` its spec declares (read from
    the function's annotation in the source: no torch import)."""
    assert spec.run is not None and spec.result is not None, spec.name
    assert issubclass(spec.result, StageResult) and spec.result is not StageResult
    tree = ast.parse(Path(importlib.util.find_spec(spec.module).origin).read_text())
    [run] = [node for node in tree.body
             if isinstance(node, ast.FunctionDef) and node.name == spec.run]
    assert ast.unparse(run.returns) == spec.result.__name__, spec.name


def test_every_step_runs_a_stage_with_a_run_function_and_result_type() -> None:
    for step in steps():
        spec = stages()[step.stage]
        assert spec.run and spec.result is not None, step.name
    check_contracts()  # every input reads a declared field of an earlier step


def test_every_preset_names_registered_stages() -> None:
    for path in sorted((ROOT / "conf" / "experiment").glob("*.yaml")):
        made_for = preset_stages(path)
        assert made_for and set(made_for) <= set(stages()), path.name


# ---- presets are for their stage ---------------------------------------------------------
@pytest.mark.parametrize("flags", [[], ["--cfg", "job"], ["-m"]])
def test_a_preset_for_another_stage_is_one_line_exit_2(flags, capsys, tmp_path) -> None:
    code = cli.main(["search", "experiment=hsnas_wmt14_en_de_100ms", *flags,
                     f"hydra.run.dir={tmp_path}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "experiment=hsnas_wmt14_en_de_100ms is for `llmpp run`" in err[0]
    assert list(tmp_path.iterdir()) == []


# ---- a new stage: one module, its YAML, one registration ---------------------------------
TOY_MODULE = '''
"""A toy stage: adds two numbers (a test's stand-in for a new stage)."""
from dataclasses import dataclass, replace
from pathlib import Path

import hydra

from llmpp.stages.common import guarded, run_dir
from llmpp.results import StageResult
from llmpp.utils.io import write_json


@dataclass(frozen=True, kw_only=True)
class ToyResult(StageResult):
    total: int


def run_toy(cfg, out_dir):
    total = int(cfg.start) + int(cfg.add)
    write_json(Path(out_dir) / "toy.json", {"total": total, "note": "toy"})
    return ToyResult(total=total, extra={"note": "toy"})


@hydra.main(version_base="1.3", config_path=str(Path(__file__).parent), config_name="toy")
@guarded
def main(cfg):
    print(f"toy total {run_toy(cfg, run_dir()).total}")
'''


@pytest.fixture
def toy_stage(scratch_registry, tmp_path, monkeypatch):
    """``llmpp toy``: its module and YAML in a folder of their own, and one registration."""
    home = tmp_path / "toy_home"
    home.mkdir()
    (home / "llmpp_toy_stage.py").write_text(TOY_MODULE)
    (home / "toy.yaml").write_text("seed: 0\nstart: 1\nadd: 0\nlogger: null\n")
    monkeypatch.syspath_prepend(str(home))
    monkeypatch.delitem(sys.modules, "llmpp_toy_stage", raising=False)
    module = importlib.import_module("llmpp_toy_stage")
    spec = scratch_registry.register(StageSpec(
        "toy", "add two numbers", "`toy.json`", module="llmpp_toy_stage", run="run_toy",
        result=module.ToyResult, conf_dir=str(home)))
    yield spec
    sys.modules.pop("llmpp_toy_stage", None)


def test_a_registered_stage_runs_through_the_cli(toy_stage, tmp_path, monkeypatch,
                                                 capsys) -> None:
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    main_module = sys.modules["__main__"]
    monkeypatch.setattr(main_module, "__spec__", getattr(main_module, "__spec__", None))
    assert "toy" in cli.usage()
    assert cli.main(["toy", "start=3", "add=4", f"hydra.run.dir={tmp_path / 'run'}"]) == 0
    assert "toy total 7" in capsys.readouterr().out
    assert (tmp_path / "run" / "toy.json").is_file()
    assert cli.main(["toy", "strat=3"]) == 2  # its config is checked like any stage's
    assert "strat" in capsys.readouterr().err


def _toy_steps(scratch_registry) -> list[Step]:
    first = scratch_registry.register_step(Step("toy_a", "toy", ("seed",), block="toy_a"))
    second = scratch_registry.register_step(
        Step("toy_b", "toy", ("seed",), block="toy_b", inputs={"add": "toy_a.total"}))
    return [first, second]


def _toy_run_config(tmp_path: Path):
    return OmegaConf.create({"seed": 0, "run": {"artifacts": str(tmp_path / "artifacts")},
                             "toy_a": {"start": 2, "add": 3}, "toy_b": {"start": 10, "add": 0}})


def test_a_registered_step_runs_in_the_pipeline_and_takes_its_input(
        toy_stage, scratch_registry, tmp_path) -> None:
    from llmpp.pipeline.execute import run_steps

    plan = _toy_steps(scratch_registry)
    assert [s.name for s in steps()][-2:] == ["toy_a", "toy_b"]
    results, reused = run_steps(_toy_run_config(tmp_path), "run-x", plan)
    assert results["toy_a"].total == 5 and results["toy_b"].total == 15  # 10 + toy_a's 5
    assert results["toy_b"]["note"] == "toy" and not any(reused.values())
    again, reused = run_steps(_toy_run_config(tmp_path), "run-y", plan)
    assert all(reused.values()) and again["toy_b"].total == 15
    assert type(again["toy_b"]).__name__ == "ToyResult"


# ---- typed contracts -----------------------------------------------------------------------
def test_a_renamed_result_field_ends_the_run_naming_step_input_and_key(
        toy_stage, scratch_registry, tmp_path) -> None:
    from llmpp.pipeline.execute import run_steps

    @dataclass(frozen=True, kw_only=True)
    class RenamedResult(StageResult):
        sum: int  # was `total`

    scratch_registry.register(StageSpec(
        "toy", "add two numbers", "`toy.json`", module="llmpp_toy_stage", run="run_toy",
        result=RenamedResult, conf_dir=toy_stage.conf_dir))
    plan = _toy_steps(scratch_registry)
    with pytest.raises(StepContractError, match=r"step toy_b: input add reads toy_a\.total, "
                       r"but the toy_a step's result \(RenamedResult\) declares no field "
                       r"'total'"):
        run_steps(_toy_run_config(tmp_path), "run-x", plan)
    assert not (tmp_path / "artifacts").exists(), "checked before any step ran"


def test_a_renamed_field_of_a_real_stage_is_caught(scratch_registry) -> None:
    @dataclass(frozen=True, kw_only=True)
    class Renamed(StageResult):
        ckpt: str  # SupernetResult.checkpoint, renamed

    spec = stages()["supernet"]
    scratch_registry.register(replace(spec, result=Renamed))
    with pytest.raises(StepContractError, match=r"step gold: input supernet_checkpoint reads "
                       r"supernet\.checkpoint.*declares no field 'checkpoint'"):
        check_contracts()


def test_an_input_missing_from_an_earlier_result_is_an_error_not_a_skip(compose) -> None:
    run_cfg = compose("run")
    retrain = {s.name: s for s in steps()}["retrain"]
    results = {"search": {"best": {"score": 1.0}, "dir": "/runs/search/abc"}}  # no arch
    with pytest.raises(StepContractError, match=r"step retrain: input arch needs "
                       r"search\.best\.arch, which the search step's result lacks"):
        step_config(run_cfg, retrain, results)
    assert issubclass(StepContractError, ConfigError)  # one line, exit 2


def test_a_saved_result_lacking_a_declared_field_is_corrupt(tmp_path) -> None:
    from llmpp.errors import CorruptFileError

    doc = {"checkpoint": "/c", "task": "t", "space": "s", "space_hash": "h", "model": "m",
           "steps": 3, "resumed_from": None, "subnets": {}}
    result = SupernetResult.from_json(doc)
    assert result.checkpoint == "/c" and result["subnets"] == {} and result.to_json() == doc
    with pytest.raises(CorruptFileError, match=r"lacks the SupernetResult field\(s\) steps"):
        SupernetResult.from_json({k: v for k, v in doc.items() if k != "steps"},
                                 source=str(tmp_path / "result.json"))
