"""Hydra's compose-time refusals as one line naming the key (and the nearest valid one).

Hydra refuses an unknown key or a value of the wrong type against the structured
configs of ``llmpp.config_schema`` while composing; its messages span lines and name
neither the expected type nor what the user probably meant. ``describe`` rewrites the
common ones; anything else keeps Hydra's text, on one line.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any

from hydra.errors import MissingConfigException
from omegaconf import DictConfig
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    OmegaConfBaseException,
    ValidationError,
)

from llmpp.config_check import signature_schema, type_name


def describe(exc: BaseException) -> str:
    """One line for a composition error ``exc`` (what is wrong + how to fix it)."""
    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file and exc.options:
        return _missing_option(exc)
    cause = _omegaconf_cause(exc)
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and cause.full_key:
        return unknown_key(str(cause.full_key), cause.parent_node)
    if isinstance(cause, ValidationError) and cause.full_key:
        return _wrong_type(cause)
    return " ".join(str(exc).split())


def unknown_key(full_key: str, parent: Any) -> str:
    """``<key>: unknown key (did you mean <nearest>?)`` from the keys beside it."""
    name = full_key.rsplit(".", 1)[-1]
    known = [str(k) for k in parent.keys()] if isinstance(parent, DictConfig) else []
    target = parent.get("_target_") if isinstance(parent, DictConfig) else None
    params: list[str] = []
    if isinstance(target, str):
        found = signature_schema(target)
        params = [p for p in (found[0] if found else {}) if p not in known]
    if name in params:  # a parameter the YAML does not set: Hydra adds it only with +
        return (f"{full_key} is a parameter of {target} that the config does not set; "
                f"add it with +{full_key}=<value>")
    close = difflib.get_close_matches(name, known + params, n=1)
    hint = f"did you mean {close[0]}?" if close else f"known keys: {', '.join(known[:12])}"
    return f"{full_key}: unknown key ({hint})"


def _wrong_type(cause: ValidationError) -> str:
    value = cause.value
    got = "null" if value is None else type(value).__name__
    expected = _expected_type(cause)
    what = f"expected {expected}, got {got}" if expected else cause.msg.splitlines()[0]
    return f"{cause.full_key}={value!r}: {what}"


def _expected_type(cause: ValidationError) -> str | None:
    """The schema type of the refused key, from the dataclass that holds it."""
    schema = cause.object_type
    if schema is None or not dataclasses.is_dataclass(schema):
        return None
    hint = typing.get_type_hints(schema).get(str(cause.key))
    return type_name(hint) if hint is not None else None


def _missing_option(exc: MissingConfigException) -> str:
    group, _, option = str(exc.missing_cfg_file).rpartition("/")
    options = sorted(str(o) for o in exc.options or ())
    close = difflib.get_close_matches(option, options, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return (f"{group}={option}: no such option in conf/{group}/ ({hint}choose one of: "
            f"{', '.join(options)})")


def _omegaconf_cause(exc: BaseException) -> OmegaConfBaseException | None:
    """The first OmegaConf error in ``exc``'s chain that names a key."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OmegaConfBaseException) and getattr(seen, "full_key", None):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None

