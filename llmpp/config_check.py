"""The check Hydra cannot do: blocks built by a class, against the class's signature.

Plain settings are typed by the structured configs of ``llmpp.config_schema`` (Hydra
refuses an unknown key or a wrong type while composing). A block that a class is built
from has no second schema: its keys and types are the class's parameters and their
type hints (``**kwargs`` forwarded to a base class are followed up the MRO), so a new
option of a class needs nothing else. Such a block is

- any block with a ``_target_`` (a config group option, a nested target, a list item);
- a schema field marked with ``llmpp.config_schema.signature`` (a block the stage feeds
  to a dataclass, e.g. ``measure``) or ``registry`` (``fit.models``);
- a ``step_group`` (the ``search`` node): its step settings' keys are typed here against
  their dataclass (Hydra sees the node untyped), the rest against its ``_target_``.

Values that are interpolations (``${seed}``) or still missing (``???``) are skipped:
their source is checked where it is set, a missing value by the stage that needs it.
Targets are imported lazily, only those the config names.
"""

from __future__ import annotations

import dataclasses
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

from llmpp import config_schema
from llmpp.config_schema import ROOTS
from llmpp.errors import ConfigError

# Hydra's own keys in a ``_target_`` block.
HYDRA_KEYS = frozenset({"_target_", "_partial_", "_recursive_", "_convert_", "_args_"})
MAX_PROBLEMS = 3  # shown in the one-line error; the rest are counted

def check_config(cfg: DictConfig | Mapping[str, Any], config_name: str | None = None) -> None:
    """Raise one ``ConfigError`` line naming every wrong key, value and expected type.

    Args:
        cfg: the composed config (its ``hydra`` node, if any, is ignored).
        config_name: the primary config it was composed from (``conf/<name>.yaml``); its
            root schema (``llmpp.config_schema.ROOTS``) says which blocks feed a class.
            Without one, only the ``_target_`` blocks are checked.
    """
    problems = config_problems(cfg, config_name)
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS])
        more = len(problems) - MAX_PROBLEMS
        tail = f"; and {more} more" if more > 0 else ""
        raise ConfigError(f"invalid config: {shown}{tail}")


def config_problems(cfg: DictConfig | Mapping[str, Any], config_name: str | None = None,
                    ) -> list[str]:
    """Every problem of ``cfg`` as ``<key>=<value>: expected <type>...`` phrases."""
    raw = OmegaConf.to_container(cfg, resolve=False) if isinstance(cfg, DictConfig) else cfg
    raw = {k: v for k, v in dict(raw).items() if k != "hydra"}
    checker = _Checker()
    schema = ROOTS.get(config_name or "")
    if schema is None and isinstance(cfg, DictConfig):
        found = OmegaConf.get_type(cfg)
        schema = found if dataclasses.is_dataclass(found) else None
    if schema is None:
        checker.targets(raw, "")
    else:
        checker.schema(raw, schema, "")
    return checker.problems


def _skipped(value: Any) -> bool:
    """Interpolations and missing values: checked where they are set or needed."""
    return isinstance(value, str) and (value == "???" or "${" in value)


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


@dataclasses.dataclass(frozen=True)
class Fields:
    """A block whose keys are a class's constructor parameters.

    Args:
        target: ``package.module.Class`` (imported when a config uses the block).
        runtime: parameters the stage passes itself (not config keys).
        extra: keys the stage reads besides the class's parameters, with their types.
    """

    target: str
    runtime: tuple[str, ...] = ()
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)


class _Checker:
    """Walks a plain (container) config, collecting problem phrases.

    Plain settings were typed by Hydra against the schema; what is left are the blocks
    built by a class: a ``_target_`` block anywhere, or a schema field whose metadata
    names the class (``llmpp.config_schema.signature``) or a registry of classes.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []

    def schema(self, value: Any, schema: type, path: str, *, typed: bool = True) -> None:
        """``value`` (a mapping) against the dataclass ``schema``'s fields.

        Args:
            typed: Hydra typed the plain settings already (False: type them here).
        """
        if not isinstance(value, dict):
            self.targets(value, path)
            return
        hints = _schema_hints(schema)
        known = [spec.name for spec in dataclasses.fields(schema)]
        # Hydra lets ``+key=value`` add a key to a structured config: refused here.
        for key in value:
            if key not in known:
                self._unknown(_join(path, key), known, "")
        for spec in dataclasses.fields(schema):
            if spec.name not in value:
                continue
            item, key_path = value[spec.name], _join(path, spec.name)
            meta = spec.metadata
            if _skipped(item):
                continue
            if "signature" in meta:
                self.fields(item, Fields(meta["signature"], meta["runtime"], meta["extra"]),
                            key_path)
            elif "choices" in meta:
                if item not in meta["choices"]:
                    self._wrong(key_path, item, " | ".join(map(repr, meta["choices"])))
            elif "registry" in meta:
                self.registry(item, meta["registry"], key_path)
            elif "settings" in meta:
                self.step_group(item, getattr(config_schema, meta["settings"]), key_path)
            elif dataclasses.is_dataclass(hints.get(spec.name)):
                self.schema(item, hints[spec.name], key_path, typed=typed)
            elif typed or meta.get("group"):
                self.targets(item, key_path)
            else:
                self.typed(item, hints[spec.name], key_path)

    def step_group(self, value: Any, settings: type, path: str) -> None:
        """A group option holding a step's settings too: ``settings``'s keys against it,
        the others against the option's ``_target_``."""
        if not isinstance(value, dict):
            self.node(value, path)
            return
        own = {spec.name for spec in dataclasses.fields(settings)}
        self.schema({k: v for k, v in value.items() if k in own}, settings, path, typed=False)
        rest = {k: v for k, v in value.items() if k not in own}
        if rest:  # none: the stage chose no algorithm
            self.node(rest, path, also=own)

    def targets(self, value: Any, path: str) -> None:
        """Every ``_target_`` block in ``value`` (mappings and lists walked)."""
        if isinstance(value, dict):
            if "_target_" in value:
                self.node(value, path)
                return
            for key, item in value.items():
                self.targets(item, _join(path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.targets(item, f"{path}[{index}]")

    def value(self, value: Any, spec: Any, path: str) -> None:
        """An extra key of a class-backed block against its type hint."""
        if _skipped(value):
            return
        self.typed(value, spec, path)

    def node(self, value: Any, path: str, *, also: Iterable[str] = ()) -> None:
        """A block built by its ``_target_``: keys and types from the target's signature.

        Args:
            also: other keys of the node (named as near matches of an unknown key).
        """
        if value is None:
            return
        if not isinstance(value, dict) or "_target_" not in value:
            self._wrong(path, value, "a config block with a _target_")
            return
        target = value["_target_"]
        if target is None or _skipped(target):  # `_target_: null`: nothing is built
            return
        self.fields(value, Fields(str(target)), path, target_key=True, also=also)

    def fields(self, value: Any, spec: Fields, path: str, *, target_key: bool = False,
               also: Iterable[str] = ()) -> None:
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
                known = [k for k in (*hints, *spec.extra, *also) if k not in spec.runtime]
                self._unknown(key_path, dict.fromkeys(known), spec.target)

    def registry(self, value: Any, spec: str, path: str) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            self._wrong(path, value, "a mapping")
            return
        classes = _resolve(spec)
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


@cache
def _schema_hints(schema: type) -> dict[str, Any]:
    """A schema dataclass's resolved field types."""
    return typing.get_type_hints(schema)


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
