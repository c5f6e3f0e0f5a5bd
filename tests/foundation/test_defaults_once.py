"""Every config value is written once: in YAML, never also as a Python default.

Two places could repeat a YAML value: a field of a schema dataclass
(``llmpp.config_schema``) with a default of its own, and a parameter with a default of
a class a stage feeds a config block to (a schema field marked ``signature(...)``:
the ``measure`` block's ``MeasureConfig``, the ``regressor`` block's ``TrainConfig``,
the ``task``'s ``TaskSpec``). Both are refused here.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Iterator

import pytest
from omegaconf import MISSING, DictConfig

from llmpp.config import compose
from llmpp.config_check import _resolve
from llmpp.config_schema import ROOTS


def schema_defaults(schema: type, path: str = "") -> list[str]:
    """Fields of ``schema`` (and its nested dataclasses) holding a value of their own."""
    found = []
    hints = typing.get_type_hints(schema)
    for f in dataclasses.fields(schema):
        where = f"{path}{f.name}"
        if f.metadata.get("group"):
            continue  # an empty group slot, filled by the defaults list
        if f.default_factory is not dataclasses.MISSING:
            nested = hints[f.name]
            if dataclasses.is_dataclass(nested):
                found += schema_defaults(nested, f"{where}.")
                continue
            found.append(where)
        elif f.default is not MISSING:
            found.append(where)
    return found


def signature_blocks(schema: type, path: str = "") -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """``(key path, target class, runtime parameters)`` of every ``signature`` field."""
    hints = typing.get_type_hints(schema)
    for f in dataclasses.fields(schema):
        if "signature" in f.metadata:
            yield f"{path}{f.name}", f.metadata["signature"], f.metadata["runtime"]
        elif dataclasses.is_dataclass(hints[f.name]):
            yield from signature_blocks(hints[f.name], f"{path}{f.name}.")


def class_defaults(target: str) -> set[str]:
    """The parameters of ``target`` that have a default."""
    params = inspect.signature(_resolve(target)).parameters.values()
    return {p.name for p in params if p.default is not inspect.Parameter.empty}


def repeated_in_class(cfg: DictConfig, schema: type) -> list[str]:
    """Keys a composed config sets in a ``signature`` block whose class defaults them too."""
    found = []
    for path, target, runtime in signature_blocks(schema):
        block = cfg
        for key in path.split("."):
            block = block.get(key) if isinstance(block, DictConfig) else None
        if not isinstance(block, DictConfig):
            continue  # the block is absent here (a step block of another stage)
        found += [f"{path}.{key} ({target})" for key in block
                  if key in class_defaults(target) - set(runtime)]
    return found


@pytest.mark.parametrize("name", sorted(ROOTS))
def test_no_schema_field_holds_a_value(name: str) -> None:
    assert schema_defaults(ROOTS[name]) == [], (
        "a schema field has a default: write the value in the stage's YAML and give the "
        "field MISSING"
    )


@pytest.mark.parametrize("name", ["latency", "distill", "supernet", "run"])
def test_no_class_defaults_a_key_the_yaml_sets(name: str) -> None:
    cfg = compose(name, [])
    assert repeated_in_class(cfg, ROOTS[name]) == [], (
        "a class fed from a config block has a default for a key its YAML sets: drop the "
        "class's default (its value is the YAML's)"
    )


def test_a_planted_duplicate_is_caught(monkeypatch) -> None:
    @dataclasses.dataclass
    class Planted:
        warmup: int = 1
        beam: int = dataclasses.field(default=MISSING)

    assert schema_defaults(Planted) == ["warmup"]
    # A class default beside the YAML's ``measure.repeats``.
    import llmpp.hardware.measure as measure

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Defaulted(measure.MeasureConfig):
        repeats: int = 5

    monkeypatch.setattr(measure, "MeasureConfig", Defaulted)
    cfg = compose("latency", [])
    assert repeated_in_class(cfg, ROOTS["latency"]) == [
        "measure.repeats (llmpp.hardware.measure.MeasureConfig)"]
