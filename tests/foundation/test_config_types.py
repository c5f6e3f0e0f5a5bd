"""Typed configs: a wrong type or an unknown key fails at compose time, in one line.

Plain settings are typed by the structured configs of ``llmpp.config_schema`` (Hydra
refuses them while composing); blocks built by a class are checked against its
signature by ``llmpp.config_check``. Both end in one line naming the key."""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import subprocess
import sys
import typing
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
from llmpp.config_schema import ROOTS, RunConfig, SearchSettings
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
    assert name in ROOTS, f"conf/{name}.yaml has no root schema in llmpp.config_schema.ROOTS"
    cfg = compose(name, ["arch=x"] if name == "describe" else [])
    assert OmegaConf.get_type(cfg) is ROOTS[name]  # the schema its defaults list names
    assert config_problems(cfg, name) == []


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
    # Checked as the slot of the first root schema (or the search's settings, which hold
    # `predictors`) that offers the group.
    root = next(r for r in [*ROOTS.values(), SearchSettings]
                if group in {f.name for f in dataclasses.fields(r)})
    checker = _Checker()
    checker.schema({group: data}, root, "")
    assert checker.problems == []


# (stage and overrides, fragments of the one error line: key=value, expected type)
BAD_OVERRIDES = {
    "seed": (["benchmark", "seed=abc"], ("seed='abc'", "expected int", "got str")),
    "seed-bool": (["search", "seed=true"], ("seed=True", "expected int", "got bool")),
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
    # The three: a typo in a _target_ block, a wrong type in a stage's own
    # settings, a typo in the algorithm's block of `llmpp run`.
    "trainer-typo": (["supernet", "trainer.max_stepz=3"],
                     ("trainer.max_stepz: unknown key", "did you mean max_steps?")),
    "settings-type": (["label", "n_archs=abc"], ("n_archs='abc'", "expected int", "got str")),
    "run-search-typo": (["run", "search.iterationz=3"],
                        ("search.iterationz: unknown key", "did you mean iterations?")),
    # Plain settings typed by the schema, in a run's step block and in the search's own.
    "run-gold-split": (["run", "gold.split.demos=three"],
                       ("gold.split.demos='three'", "expected int")),
    "tracking": (["search", "search.tracking.table_rows=all"],
                 ("search.tracking.table_rows='all'", "expected int | None")),
    "tracking-typo": (["search", "search.tracking.table_rowz=3"],
                      ("search.tracking.table_rowz: unknown key", "did you mean table_rows?")),
    "run-search-step": (["run", "search.init.count=abc"],
                        ("search.init.count='abc'", "expected int")),
    "search-step-typo": (["search", "search.distil_checkpoint=/d"],
                         ("search.distil_checkpoint: unknown key",
                          "did you mean distill_checkpoint?")),
    # `+key=` adds a key Hydra would take: the schema still refuses it.
    "appended-root-key": (["label", "+n_arch=3"],
                          ("n_arch: unknown key", "did you mean n_archs?")),
    "choice": (["run", "search.init.kind=lm"],
               ("search.init.kind='lm'", "expected 'random' | 'llm'")),
    "group-option": (["search", "search=evolutio"],
                     ("search=evolutio: no such option", "did you mean evolution?")),
    "target-param-not-set": (["supernet", "trainer.min_steps=3"],
                             ("trainer.min_steps is a parameter of", "+trainer.min_steps=<value>")),
}


@pytest.mark.parametrize("case", BAD_OVERRIDES)
def test_bad_override_is_one_line_and_exit_2(case: str, capsys, monkeypatch, tmp_path) -> None:
    argv, fragments = BAD_OVERRIDES[case]
    monkeypatch.chdir(tmp_path)
    # Should the check let the config through, the test fails instead of running the stage.
    stage = importlib.import_module(f"llmpp.stages.{argv[0]}")
    monkeypatch.setattr(stage, "main", lambda: pytest.fail(f"{argv} reached the stage"))
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert list(tmp_path.iterdir()) == []  # nothing written


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


def test_every_run_step_block_is_typed_by_its_stages_settings() -> None:
    """The registry names each stage's schema; `llmpp run`'s block of a step is that
    schema, and the search step's settings share the `search` node with the algorithm
    (a step group typed by SearchSettings)."""
    from llmpp.registry import stage, steps

    hints = typing.get_type_hints(RunConfig)
    slots = {f.name: f for f in dataclasses.fields(RunConfig)}
    for step in steps():
        module, _, name = str(stage(step.stage).schema).partition(":")
        schema = getattr(importlib.import_module(module), name)
        if step.nested:
            assert slots[step.block].metadata["settings"] == schema.__name__, step.name
        else:
            assert hints[step.block] is schema, step.name


def test_the_search_settings_are_written_once() -> None:
    """init, tracking and the checkpoints live in conf/steps/search.yaml only: the stages
    that search merge it into their `search` node and set none of its keys themselves."""
    own = {f.name for f in dataclasses.fields(SearchSettings)} - {"predictors"}
    users = [p for p in CONF.glob("*.yaml") if "steps/search@search" in p.read_text()]
    assert {p.stem for p in users} == {"search", "supernet", "run"}
    for path in users:
        doc = yaml.safe_load(path.read_text()) or {}
        keys = set(doc) | set(doc.get("search") or {})
        assert not keys & own, f"{path.name} repeats {sorted(keys & own)}"


SCHEMA_KEYS = {f.name for root in ROOTS.values() for f in dataclasses.fields(root)} | {
    f.name for root in ROOTS.values() for f in dataclasses.fields(root)
    for hint in [typing.get_type_hints(root)[f.name]] if dataclasses.is_dataclass(hint)
    for f in dataclasses.fields(hint)}


def test_no_stage_repeats_a_schema_default_in_code() -> None:
    """`cfg.get("<key>", <default>)` for a key the schema has writes its default twice."""
    pattern = re.compile(r"""\b(?:cfg|init|tracking)(?:\.\w+)*\.get\(\s*["'](\w+)["']\s*,""")
    found = []
    code = CONF.parent / "llmpp"
    for path in sorted(p for part in ("stages", "search", "pipeline", "hardware", "distill")
                       for p in (code / part).glob("*.py")):
        for match in pattern.finditer(path.read_text()):
            if match.group(1) in SCHEMA_KEYS:
                found.append(f"{path.name}: {match.group(0)}")
    assert not found, found


def test_a_typo_in_a_stage_setting_is_unknown() -> None:
    assert any("keep_checkpoint: unknown key" in p and "keep_checkpoints" in p
               for p in problems({"keep_checkpoint": True}, "retrain"))
    assert not problems({"eval_bleu_limit": None, "split": {"demos": 2}}, "retrain")


def test_every_preset_has_a_stage() -> None:
    from llmpp.registry import stage

    assert all(stage(preset_stage(p)).config in ROOTS for p in PRESETS)


# ---- the checker on small configs (no composition): each rule has a case ---------------
def problems(config: dict, name: str = "search") -> list[str]:
    base = {"seed": 0}
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
        # An unknown key in a step block of `llmpp run` (Hydra types the values).
        ({"gold": {"split": {"demoz": 3}}}, "run", "gold.split.demoz: unknown key"),
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
        # The search node: its step settings typed by SearchSettings, the rest by the
        # algorithm's signature (a near step key named for a typo).
        ({"search": {**SEARCH, "init": {"count": "x"}}}, "search",
         "search.init.count='x': expected int"),
        ({"search": {**SEARCH, "trackin": {}}}, "search",
         "search.trackin: unknown key of llmpp.search.hs_nas.HSNAS (did you mean tracking?)"),
        # An unknown root key; a target that does not exist.
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
        "constraint": {"_target_": "llmpp.constraints.MaxGFLOPs", "_partial_": True, "limit": 3},
        "llm": {"_target_": "llmpp.llm.local.LocalBackend", "timeout": 5, "concurrency": 2},
        # A logger's **kwargs go to W&B: any extra key is W&B's to judge.
        "logger": {"_target_": "llmpp.tracking.loggers.wandb_logger", "entity": "me"},
        # The search's own settings beside the algorithm's keys.
        "search": {**SEARCH, "tracking": {"tags": ["a"], "table_rows": None},  # None allowed
                   "supernet_checkpoint": "${oc.env:HOME}/x.ckpt"},  # checked at source
        "hydra": {"anything": 1},
    }
    assert problems(ok) == []


def test_check_config_raises_one_config_error_line_and_counts_the_rest() -> None:
    cfg = OmegaConf.create({"seedd": 0, "resumee": 1,
                            "search": {"tracking": {"tagz": 1, "progres": 2}}})
    with pytest.raises(ConfigError) as info:
        check_config(cfg, "search")
    message = str(info.value)
    assert "\n" not in message and message.startswith("invalid config: seedd: unknown key")
    assert message.endswith("and 1 more")
