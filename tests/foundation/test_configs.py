"""Every primary config composes with every option, and every _target_ fits its class."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
from omegaconf import DictConfig, ListConfig, OmegaConf

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"


def primary_configs() -> list[str]:
    names = []
    for path in sorted(CONF.glob("*.yaml")):
        cfg = OmegaConf.load(path)
        if OmegaConf.select(cfg, "hydra.job.name"):
            names.append(path.stem)
    return names


def choices_of(stage: str) -> dict[str, str | None]:
    """Every config group the stage's defaults tree selects (nested ones included)."""
    from llmpp.config import compose

    cfg = compose(stage, ["arch=x"] if stage == "describe" else [], return_hydra_config=True)
    return dict(cfg.hydra.runtime.choices)


def groups_of(stage: str) -> list[str]:
    """The overridable groups of a stage, one entry per group (the first package)."""
    seen, groups = set(), []
    for key in choices_of(stage):
        group = key.split("@", 1)[0]
        if group.startswith("hydra") or group == "experiment" or group in seen:
            continue
        seen.add(group)
        groups.append(key)
    return groups


def _cases() -> list[tuple[str, str, str]]:
    """Every option of every group, each composed with one stage that selects the group
    (the primary configs share the groups, so one stage per option is enough)."""
    owner: dict[str, tuple[str, str]] = {}
    for stage in primary_configs():
        for key in groups_of(stage):
            owner.setdefault(key.split("@", 1)[0], (stage, key))
    return [
        (stage, key, option.stem)
        for group, (stage, key) in sorted(owner.items())
        for option in sorted((CONF / group).glob("*.yaml"))
    ]


CASES = _cases()


def test_the_core_stages_exist() -> None:
    assert {"benchmark", "describe"} <= set(primary_configs())


@pytest.mark.parametrize(("stage", "key", "option"), CASES)
def test_every_option_composes(stage, key, option, compose) -> None:
    extra = ["arch=x"] if stage == "describe" else []
    cfg = compose(stage, [*extra, f"{key}={option}"])
    group, _, package = key.partition("@")
    if "@package _global_" not in (CONF / group / f"{option}.yaml").read_text():
        assert OmegaConf.select(cfg, package or group) is not None or option in ("none", "null")


@pytest.mark.parametrize("stage", primary_configs())
def test_every_stage_offers_the_same_slots(stage, compose) -> None:
    """experiment, task, space, seed and logger, with the shared defaults (``resume``
    only where it is honoured: tests/pipeline/test_resume.py)."""
    cfg = compose(stage, ["arch=x"] if stage == "describe" else [])
    assert {"task", "space", "seed", "logger"} <= set(cfg)
    assert "experiment" in choices_of(stage)
    assert cfg.seed == 0 and cfg.get("resume") is None
    logs = stage not in ("describe", "report", "data_stage")  # they train or search nothing
    assert (cfg.logger.get("_target_") is not None) == logs


PRESETS = sorted((CONF / "experiment").glob("*.yaml"))


def preset_stage(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("# stage:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path.name} must say which stage it is for in a '# stage:' line")


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_every_preset_composes_with_its_stage(path: Path, compose) -> None:
    text = path.read_text()
    assert "# Reproduces:" in text and "# Expected" in text, "presets say what they reproduce"
    cfg = compose(preset_stage(path), [f"experiment={path.stem}"])
    assert cfg is not None


def _targets(node, path="") -> list[tuple[str, DictConfig]]:
    found = []
    if isinstance(node, DictConfig):
        if "_target_" in node:
            found.append((path, node))
        for key in node:
            found += _targets(node._get_node(key), f"{path}.{key}")
    elif isinstance(node, ListConfig):
        for i, item in enumerate(node):
            found += _targets(item, f"{path}[{i}]")
    return found


def _bind(node: DictConfig, where: str) -> None:
    if node._target_ is None:  # an explicit "nothing" option, e.g. logger=none
        return
    module_name, _, attr = str(node._target_).rpartition(".")
    target = getattr(importlib.import_module(module_name), attr)
    kwargs = {k: None for k in node if not str(k).startswith("_")}
    signature = inspect.signature(target)
    try:
        # Partial binding: every config key must be a parameter; arguments that only
        # exist at run time (the space, a save dir) are passed by the stage.
        signature.bind_partial(**kwargs)
    except TypeError as exc:
        raise AssertionError(
            f"{where}: {node._target_} does not accept {sorted(kwargs)}: {exc}"
        ) from None


ALL_YAML = sorted(p for p in CONF.rglob("*.yaml") if "hydra" not in p.parts)


@pytest.mark.parametrize("path", ALL_YAML, ids=lambda p: str(p.relative_to(CONF)))
def test_every_target_binds_to_its_signature(path: Path) -> None:
    cfg = OmegaConf.load(path)
    for where, node in _targets(cfg):
        _bind(node, f"{path.relative_to(CONF)}{where}")


def test_a_preset_pins_its_settings(compose) -> None:
    cfg = compose("benchmark", ["experiment=bench_hat"])
    assert cfg.predictor.column == "HAT"
    assert cfg.task.name == "all"
