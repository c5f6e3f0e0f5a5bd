"""Typed configs: a wrong type or an unknown key fails at compose time, in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from llmpp import cli
from llmpp.config import compose
from llmpp.config_check import RUN_STEPS, STAGE_KEYS, check_config, config_problems
from llmpp.errors import ConfigError

CONF = Path(__file__).resolve().parents[2] / "conf"
PRIMARY = sorted(p.stem for p in CONF.glob("*.yaml") if p.stem != "stage_defaults")
# The stage a preset is written for, by its name's prefix.
PRESET_STAGE = {"bench": "benchmark", "distill": "distill", "hsnas": "run", "latency": "latency",
                "run": "run"}
PRESETS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("name", PRIMARY)
def test_every_primary_config_passes_the_check(name: str) -> None:
    assert name in STAGE_KEYS, f"conf/{name}.yaml has no entry in config_check.STAGE_KEYS"
    assert config_problems(compose(name), name) == []


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_composes_and_passes_the_check(preset: str) -> None:
    stage = PRESET_STAGE[preset.split("_")[0]]
    assert config_problems(compose(stage, [f"experiment={preset}"]), stage) == []


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
def test_bad_override_is_one_line_and_exit_2(case: str, capsys) -> None:
    argv, fragments = BAD_OVERRIDES[case]
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
    from llmpp.pipeline.plan import PIPELINE

    assert RUN_STEPS == {step.block: step.stage for step in PIPELINE if step.block}


def test_every_preset_has_a_stage() -> None:
    assert {p.split("_")[0] for p in PRESETS} <= set(PRESET_STAGE)


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
