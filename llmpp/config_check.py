"""Compose-time type and key checks of a stage's config: one line, before any work starts.

Hydra refuses an override of a key that does not exist, but not ``seed=abc``,
``trainer.max_steps=ten`` or a misspelt key in a preset; those used to fail late (or
never). Here every block is checked where it is composed:

- a block with a ``_target_`` against the target's own signature: its parameters are
  the known keys and their type hints the types (``**kwargs`` forwarded to a base class
  are followed up the MRO), so a new option of a class needs no second schema;
- a plain-data block against the small table in ``llmpp.config_schema``, which
  points at a dataclass where the stage feeds the block to one.

Values that are interpolations (``${seed}``) or still missing (``???``) are skipped:
their source is checked where it is set, a missing value by the stage that needs it.
Targets are imported lazily, only those the config names.
"""

from __future__ import annotations

import difflib
import enum
import importlib
import inspect
import os
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import PurePath
from typing import Any

from omegaconf import DictConfig, OmegaConf

from llmpp.config_schema import SHARED, Fields, NodeSpec, NodesSpec, Registry, stage_schema
from llmpp.errors import ConfigError

# Hydra's own keys in a ``_target_`` block.
HYDRA_KEYS = frozenset({"_target_", "_partial_", "_recursive_", "_convert_", "_args_"})
MAX_PROBLEMS = 3  # shown in the one-line error; the rest are counted

def check_config(cfg: DictConfig | Mapping[str, Any], config_name: str) -> None:
    """Raise one ``ConfigError`` line naming every wrong key, value and expected type.

    Args:
        cfg: the composed config (its ``hydra`` node, if any, is ignored).
        config_name: the primary config it was composed from (``conf/<name>.yaml``);
            a name without a table entry gets its known slots and targets checked only.
    """
    problems = config_problems(cfg, config_name)
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS])
        more = len(problems) - MAX_PROBLEMS
        tail = f"; and {more} more" if more > 0 else ""
        raise ConfigError(f"invalid config: {shown}{tail}")


def config_problems(cfg: DictConfig | Mapping[str, Any], config_name: str) -> list[str]:
    """Every problem of ``cfg`` as ``<key>=<value>: expected <type>...`` phrases."""
    raw = OmegaConf.to_container(cfg, resolve=False) if isinstance(cfg, DictConfig) else cfg
    raw = {k: v for k, v in dict(raw).items() if k != "hydra"}
    checker = _Checker()
    schema = stage_schema(config_name)
    checker.block(raw, schema or SHARED, "", strict=schema is not None)
    return checker.problems


def _skipped(value: Any) -> bool:
    """Interpolations and missing values: checked where they are set or needed."""
    return isinstance(value, str) and (value == "???" or "${" in value)


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


class _Checker:
    """Walks a plain (container) config against specs, collecting problem phrases."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def block(self, value: Any, schema: Mapping[str, Any], path: str, *,
              strict: bool = True, owner: str = "") -> None:
        if not isinstance(value, dict):
            self._wrong(path, value, "a mapping")
            return
        for key, item in value.items():
            if key in schema:
                self.value(item, schema[key], _join(path, key))
            elif strict:
                self._unknown(_join(path, key), schema, owner)

    def value(self, value: Any, spec: Any, path: str) -> None:
        if _skipped(value):
            return
        if isinstance(spec, NodeSpec):
            self.node(value, path)
        elif isinstance(spec, NodesSpec):
            if value is not None and not isinstance(value, dict):
                self._wrong(path, value, "a mapping of _target_ blocks")
            for name, node in (value or {}).items() if isinstance(value, dict) else ():
                self.node(node, _join(path, name))
        elif isinstance(spec, dict):
            self.block(value, spec, path)
        elif isinstance(spec, Fields):
            self.fields(value, spec, path)
        elif isinstance(spec, Registry):
            self.registry(value, spec, path)
        else:
            self.typed(value, spec, path)

    def node(self, value: Any, path: str) -> None:
        """A block built by its ``_target_``: keys and types from the target's signature."""
        if value is None:
            return
        if not isinstance(value, dict) or "_target_" not in value:
            self._wrong(path, value, "a config block with a _target_")
            return
        target = value["_target_"]
        if target is None or _skipped(target):  # `_target_: null`: nothing is built
            return
        self.fields(value, Fields(str(target)), path, target_key=True)

    def fields(self, value: Any, spec: Fields, path: str, *, target_key: bool = False) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            self._wrong(path, value, "a mapping")
            return
        try:
            params = signature_schema(spec.target)
        except ConfigError as exc:
            where = f"{path}._target_" if target_key else path
            self.problems.append(f"{where}={spec.target!r}: {exc}")
            return
        if params is None:  # the target's module needs what is not installed: build says so
            return
        hints, open_kwargs, none_ok = params
        for key, item in value.items():
            key_path = _join(path, key)
            if key in HYDRA_KEYS:
                continue
            if key in spec.extra:
                self.value(item, spec.extra[key], key_path)
            elif key in hints and key not in spec.runtime:
                if not (item is None and key in none_ok):
                    self.typed(item, hints[key], key_path)
            elif not open_kwargs:
                known = [k for k in (*hints, *spec.extra) if k not in spec.runtime]
                self._unknown(key_path, dict.fromkeys(known), spec.target)

    def registry(self, value: Any, spec: Registry, path: str) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            self._wrong(path, value, "a mapping")
            return
        classes = _resolve(spec.path)
        for name, options in value.items():
            if name not in classes:
                self._unknown(_join(path, name), classes, "")
                continue
            cls = classes[name]
            self.fields(options, Fields(f"{cls.__module__}.{cls.__qualname__}"),
                        _join(path, name))

    def typed(self, value: Any, hint: Any, path: str) -> None:
        """A value against a type hint; ``_target_`` blocks inside it are checked too."""
        if _skipped(value):
            return
        if isinstance(value, dict) and "_target_" in value:
            self.node(value, path)
            return
        if not matches(value, hint):
            self._wrong(path, value, type_name(hint))
            return
        items = value.items() if isinstance(value, dict) else enumerate(value) \
            if isinstance(value, list) else ()
        for key, item in items:
            if isinstance(item, dict) and "_target_" in item:
                self.node(item, f"{path}[{key}]" if isinstance(key, int) else _join(path, key))

    def _wrong(self, path: str, value: Any, expected: str) -> None:
        got = "null" if value is None else type(value).__name__
        self.problems.append(f"{path}={_show(value)}: expected {expected}, got {got}")

    def _unknown(self, path: str, known: Iterable[str], owner: str) -> None:
        names = [str(k) for k in known]
        name = path.rsplit(".", 1)[-1]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {close[0]}?" if close else f"known keys: {', '.join(names[:12])}"
        of = f" of {owner}" if owner else ""
        self.problems.append(f"{path}: unknown key{of} ({hint})")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _resolve(path: str) -> Any:
    """``pkg.module.Name`` or ``pkg.module:NAME`` -> the object (ConfigError if absent)."""
    module_name, _, name = path.partition(":") if ":" in path else path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or ""
        if missing and not module_name.startswith(missing):
            raise  # a dependency of the target is missing, not the target itself
        raise ConfigError(f"cannot import {module_name!r}; check the _target_") from None
    if not hasattr(module, name):
        raise ConfigError(f"{module_name} has no {name!r}; check the _target_")
    return getattr(module, name)


@cache
def signature_schema(target: str) -> tuple[dict[str, Any], bool, frozenset[str]] | None:
    """``(hints by parameter, takes unknown keys, parameters defaulting to None)``.

    A class's ``__init__`` that takes ``**kwargs`` is followed to the next ``__init__``
    of its MRO (the ``super().__init__(**kwargs)`` pattern); a function's ``**kwargs``
    (or a base that is ``object``'s) leaves the keys open. None: the target's module
    cannot be imported for lack of a dependency (the stage's ``build`` reports it).
    """
    try:
        obj = _resolve(target)
    except ImportError:
        return None
    functions: list[Any] = [obj]
    if inspect.isclass(obj):
        functions = [k.__dict__["__init__"] for k in obj.__mro__
                     if "__init__" in k.__dict__ and k is not object]
    hints: dict[str, Any] = {}
    none_ok: set[str] = set()
    open_kwargs = False  # a class without any ``__init__`` takes no keys
    for function in functions:
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):  # a builtin: nothing to check against
            return {}, True, frozenset()
        types_of = _hints(function, obj)
        for param in parameters:
            if param.kind in (param.VAR_POSITIONAL, param.POSITIONAL_ONLY) or param.name == "self":
                continue
            if param.kind is param.VAR_KEYWORD:
                continue
            hints.setdefault(param.name, types_of.get(param.name, Any))
            # null stands for "not set" where the target has no default: it says so itself.
            if param.default is None or param.default is param.empty:
                none_ok.add(param.name)
        open_kwargs = any(p.kind is p.VAR_KEYWORD for p in parameters)
        if not open_kwargs:
            break
    # Every ``__init__`` of the MRO forwarded ``**kwargs`` (or a function takes them).
    return hints, open_kwargs, frozenset(none_ok)


def _hints(function: Callable[..., Any], owner: Any) -> dict[str, Any]:
    """Resolved type hints of ``function`` (a dataclass's fields as a fallback); {} if none."""
    try:
        return typing.get_type_hints(function)
    except Exception:  # hints naming what is only imported for type checking
        pass
    try:
        return typing.get_type_hints(owner) if inspect.isclass(owner) else {}
    except Exception:
        return {}


_PATHS = (PurePath, os.PathLike)


def matches(value: Any, hint: Any) -> bool:
    """Whether a plain config value (scalar, list, dict) fits ``hint``."""
    if hint is Any or isinstance(hint, (str, typing.TypeVar, typing.ForwardRef)):
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, arg) for arg in args)
    if hint is type(None) or value is None:
        return hint is type(None) and value is None
    if origin is typing.Literal:  # the value's type; the target checks the value itself
        return any(type(value) is type(arg) or
                   (isinstance(value, int) and type(arg) is float) for arg in args)
    if origin is typing.Annotated:
        return matches(value, args[0])
    if hint is bool or hint is int:
        return type(value) is hint
    if hint is float:
        return type(value) in (int, float)
    if hint is str or (isinstance(hint, type) and issubclass(hint, _PATHS)):
        return isinstance(value, str)
    return _matches_class(value, origin or hint, args)


def _matches_class(value: Any, cls: Any, args: tuple[Any, ...]) -> bool:
    """Containers by their items; enums by value or name; other classes only as blocks."""
    if not isinstance(cls, type):
        return True
    if issubclass(cls, enum.Enum):
        return any(value in (m.value, m.name) for m in cls)
    if issubclass(cls, Mapping):
        item = args[1] if len(args) == 2 else Any
        return isinstance(value, dict) and all(matches(v, item) for v in value.values())
    if cls is tuple and args and args[-1] is not Ellipsis:
        return (isinstance(value, list) and len(value) == len(args)
                and all(matches(v, a) for v, a in zip(value, args, strict=True)))
    if issubclass(cls, Iterable) and not issubclass(cls, (str, bytes)):
        item = args[0] if args else Any
        return isinstance(value, list) and all(matches(v, item) for v in value)
    if cls is Callable:  # a partial block, checked as a node when it is one
        return True
    # An object the target receives: Hydra hands a block over as a DictConfig.
    return isinstance(value, dict)


def type_name(hint: Any) -> str:
    """A type hint as a user reads it: ``int``, ``list[int]``, ``float | None``."""
    if hint is type(None):
        return "None"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in args)
    if origin is typing.Literal:
        return " | ".join(repr(arg) for arg in args)
    if origin is not None:
        inner = ", ".join("..." if a is Ellipsis else type_name(a) for a in args)
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{inner}]" if inner else name
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "")
