"""Typed configs: a wrong type or an unknown key fails at compose time, in one line."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from llmpp import cli
from llmpp.config import compose
from llmpp.config_check import (
    _Checker,  # the walker itself, for single files
    check_config,
    config_problems,
)
from llmpp.config_schema import (
    NODES,
    RUN_STEPS,
    SHARED,
    STAGE_KEYS,
    STEP_KEYS,
    stage_schema,
    yaml_keys,
)
from llmpp.errors import ConfigError

CONF = Path(__file__).resolve().parents[2] / "conf"
PRIMARY = sorted(p.stem for p in CONF.glob("*.yaml") if p.stem != "stage_defaults")
# The stage a preset is written for, by its name's prefix.
def preset_stage(name: str) -> str:
    """The stage a preset says it is for (its ``# stage:`` header line)."""
    for line in (CONF / "experiment" / f"{name}.yaml").read_text().splitlines():
        if line.startswith("# stage:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{name} has no '# stage:' line")
PRESETS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("name", PRIMARY)
def test_every_primary_config_passes_the_check(name: str) -> None:
    assert name in STAGE_KEYS, f"conf/{name}.yaml has no entry in config_check.STAGE_KEYS"
    assert config_problems(compose(name), name) == []


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_composes_and_passes_the_check(preset: str) -> None:
    stage = preset_stage(preset)
    assert config_problems(compose(stage, [f"experiment={preset}"]), stage) == []


OPTIONS = sorted(p.relative_to(CONF).as_posix() for p in CONF.glob("*/*.yaml")
                 if p.parent.name not in ("experiment", "steps", "sweep", "task", "hydra"))


def load_option(path: Path) -> dict:
    """An option file merged over the sibling options its defaults list names."""
    data = yaml.safe_load(path.read_text()) or {}
    merged = OmegaConf.create({})
    for entry in data.pop("defaults", None) or []:
        if isinstance(entry, str) and entry != "_self_" and "/" not in entry:
            merged = OmegaConf.merge(merged, load_option(path.parent / f"{entry}.yaml"))
    return OmegaConf.to_container(OmegaConf.merge(merged, data))


@pytest.mark.parametrize("option", OPTIONS)
def test_every_group_option_passes_the_check(option: str) -> None:
    """Each option file's blocks against their targets (no composition: its own keys)."""
    data = load_option(CONF / option)
    group = option.split("/")[0]
    spec = SHARED.get(group, NODES)
    checker = _Checker()
    checker.value(data, spec, group)
    assert checker.problems == []


# (stage and overrides, fragments of the one error line: key=value, expected type)
BAD_OVERRIDES = {
    "seed": (["benchmark", "seed=abc"], ("seed='abc'", "expected int", "got str")),
    "trainer": (["supernet", "trainer.max_steps=ten"],
                ("trainer.max_steps='ten'", "expected int")),
    "run-step-block": (["run", "supernet.trainer.max_steps=ten"],
                       ("supernet.trainer.max_steps='ten'", "expected int")),
    "search": (["search", "search.iterations=1.5"],
               ("search.iterations=1.5", "expected int", "got float")),
    "constraint": (["search", "constraint=gflops", "constraint.limit=fast"],
                   ("constraint.limit='fast'", "expected float")),
    "benchmark-seeds": (["benchmark", "benchmark.seeds=x"],
                        ("benchmark.seeds='x'", "expected tuple[int, ...]")),
    "llm": (["label", "llm.timeout=soon"], ("llm.timeout='soon'", "expected float")),
    "unknown-key": (["run", "+search.iteration=3"],
                    ("search.iteration: unknown key", "did you mean iterations?")),
}


@pytest.mark.parametrize("case", BAD_OVERRIDES)
def test_bad_override_is_one_line_and_exit_2(case: str, capsys, monkeypatch) -> None:
    argv, fragments = BAD_OVERRIDES[case]
    # Should the check let the config through, the test fails instead of running the stage.
    stage = importlib.import_module(f"llmpp.stages.{argv[0]}")
    monkeypatch.setattr(stage, "main", lambda: pytest.fail(f"{argv} reached the stage"))
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.slow  # a fresh interpreter imports torch and Lightning: 10-40 s on 2 busy cores
def test_console_script_refuses_a_wrong_type_in_a_run_step(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "llmpp.cli", "run", "supernet.trainer.max_steps=ten"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(CONF.parent)},
    )
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "supernet.trainer.max_steps='ten'" in lines[0], proc.stderr
    assert not (tmp_path / "outputs").exists()  # refused before Hydra made a run dir


def test_guarded_stage_checks_its_config_before_running(capsys) -> None:
    """`-m` sweeps and `python -m llmpp.stages.<stage>` skip the CLI's check; the app's
    wrapper refuses the config before the stage function runs."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from llmpp.stages.common import guarded

    calls = []
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF), job_name="search"):
        cfg = hydra_compose("search", ["search.iterations=1.5"], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    try:
        with pytest.raises(SystemExit) as exit_info:
            guarded(calls.append)(cfg)
    finally:
        HydraConfig.instance().cfg = None
    assert exit_info.value.code == 2 and calls == []
    assert "search.iterations=1.5: expected int" in capsys.readouterr().err


def test_run_steps_match_the_pipeline_plan() -> None:
    from llmpp.stages.registry import steps

    assert RUN_STEPS == {step.block: step.stage for step in steps() if step.block}


@pytest.mark.parametrize("name", PRIMARY)
def test_every_key_of_a_stage_yaml_has_a_type_in_the_table(name: str) -> None:
    """Untyped keys are accepted (a new option never blocks its stage); this test asks
    for their type in config_check's table."""
    typed = {**SHARED, **STAGE_KEYS[name]}
    files = [f"{name}.yaml"] + ([f"steps/{name}.yaml"] if name in STEP_KEYS else [])
    untyped = {k for f in files for k in yaml_keys(f)} - set(typed)
    assert not untyped, f"add the types of {sorted(untyped)} to llmpp/config_check.py"
    for stage in sorted(set(RUN_STEPS.values())) if name == "run" else ():
        untyped = set(yaml_keys(f"steps/{stage}.yaml")) - set(STEP_KEYS[stage])
        assert not untyped, f"add the types of {sorted(untyped)} to STEP_KEYS[{stage!r}]"


def test_a_key_only_in_the_yaml_is_known_untyped_and_a_typo_is_not() -> None:
    schema = stage_schema("retrain")
    assert schema is not None and schema["beam"] is int
    assert problems({"keep_checkpoint": True}, "retrain")  # typo: still unknown
    assert not problems({"eval_bleu_limit": None, "split": {"demos": 2}}, "retrain")


def test_every_preset_has_a_stage() -> None:
    assert {preset_stage(p) for p in PRESETS} <= set(STAGE_KEYS)


# ---- the checker on small configs (no composition): each rule has a case ---------------
def problems(config: dict, name: str = "search") -> list[str]:
    base = {"seed": 0, "resume": None}
    return config_problems(OmegaConf.create({**base, **config}), name)


SEARCH = {"_target_": "llmpp.search.hs_nas.HSNAS", "iterations": 3,
          "schedule": {"_target_": "llmpp.search.schedule.FixedSchedule", "switch_at": None}}


@pytest.mark.parametrize(
    ("config", "name", "fragment"),
    [
        # A target nested in a target (HSNAS's schedule).
        ({"search": {**SEARCH, "schedule": {**SEARCH["schedule"], "switch_at": "soon"}}},
         "search", "search.schedule.switch_at='soon': expected int | None"),
        # Keys forwarded with **kwargs to the base class (HSNAS -> Evolution).
        ({"search": {**SEARCH, "parents": [1]}}, "search", "search.parents=[1]: expected int"),
        # Items of a list.
        ({"benchmark": {"_target_": "llmpp.gold.source.GoldData", "seeds": [1, "x"]}},
         "benchmark", "benchmark.seeds=[1, 'x']: expected tuple[int, ...]"),
        # A plain block of the table, inside a step block of `llmpp run`.
        ({"gold": {"split": {"demos": "three"}}}, "run", "gold.split.demos='three'"),
        ({"tracking": {"table_rows": "all"}}, "search", "tracking.table_rows='all'"),
        # A dataclass-backed block, and a registry of latency models.
        ({"measure": {"repeats": 2.5}}, "latency", "measure.repeats=2.5: expected int"),
        ({"fit": {"models": {"mlp": {"hidden": "big"}}}}, "latency",
         "fit.models.mlp.hidden='big'"),
        ({"fit": {"models": {"mpl": {}}}}, "latency", "fit.models.mpl: unknown key"),
        # A runtime parameter is not a config key; a target of a members list is checked.
        ({"regressor": {"seed": 1}}, "distill", "regressor.seed: unknown key"),
        ({"predictor": {"_target_": "llmpp.predictors.ensemble.EnsemblePredictor",
                        "members": [{"_target_": "llmpp.predictors.recorded.RecordedPredictor",
                                     "colum": "HAT"}]}},
         "benchmark", "predictor.members[0].colum: unknown key"),
        # bool is not an int; an unknown root key; a target that does not exist.
        ({"seed": True}, "search", "seed=True: expected int, got bool"),
        ({"iterations": 3}, "search", "iterations: unknown key"),
        ({"search": {"_target_": "llmpp.search.nope.Nope"}}, "search",
         "search._target_='llmpp.search.nope.Nope': cannot import"),
    ],
    ids=lambda v: v if isinstance(v, str) and "=" not in v and ":" not in v else "",
)
def test_checker_rules(config: dict, name: str, fragment: str) -> None:
    found = problems(config, name)
    assert any(fragment in p for p in found), found


def test_what_is_valid_passes() -> None:
    ok = {
        "search": SEARCH,
        "constraint": {"_target_": "llmpp.constraints.MaxGFLOPs", "_partial_": True, "limit": 3},
        "llm": {"_target_": "llmpp.llm.local.LocalBackend", "timeout": 5, "concurrency": 2},
        # A logger's **kwargs go to W&B: any extra key is W&B's to judge.
        "logger": {"_target_": "llmpp.training.loggers.wandb_logger", "entity": "me"},
        "tracking": {"tags": ["a"], "table_rows": None},  # None where the table allows it
        "supernet_checkpoint": "${oc.env:HOME}/x.ckpt",  # interpolations: checked at source
        "hydra": {"anything": 1},
    }
    assert problems(ok) == []


def test_check_config_raises_one_config_error_line_and_counts_the_rest() -> None:
    cfg = OmegaConf.create({"seed": "a", "resume": 1, "tracking": {"tags": 1, "progress": 2}})
    with pytest.raises(ConfigError) as info:
        check_config(cfg, "search")
    message = str(info.value)
    assert "\n" not in message and message.startswith("invalid config: seed='a'")
    assert message.endswith("and 1 more")
