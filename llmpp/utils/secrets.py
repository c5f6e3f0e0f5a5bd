"""Keeping credentials out of anything that leaves the machine (W&B configs, shared logs).

Keys are read from the environment only (never from a config), but a user can still
interpolate one into a config (``${oc.env:OPENAI_API_KEY}``) or a library may copy a
header into its settings. So a config is cleaned twice before it is logged: keys whose
name says "credential" are dropped, and any string holding the value of a secret
environment variable is replaced, whatever its key is called.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

# ``(^|_)token$`` catches ``hf_token`` and ``access_token`` but not ``max_tokens``,
# which is a setting worth seeing in a logged config.
SECRET_NAME = re.compile(
    r"(api[_-]?key|secret|passw(or)?d|credential|authorization|(^|[_-])token$)", re.IGNORECASE
)
REDACTED = "<redacted>"
MIN_SECRET_LENGTH = 8  # shorter values ("1", "true") would redact ordinary settings


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of the environment variables whose names look like credentials."""
    environ = os.environ if environ is None else environ
    return sorted(
        {v for k, v in environ.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET_LENGTH}
    )


def scrub(value: Any, secrets: Iterable[str] | None = None) -> Any:
    """``value`` (nested dicts and lists) without credential keys or secret values.

    Args:
        value: a plain container (``OmegaConf.to_container`` output, a JSON payload).
        secrets: the strings to hide; default: :func:`secret_values` of the environment.
    """
    hidden = tuple(secret_values() if secrets is None else secrets)
    return _scrub(value, hidden)


def _scrub(value: Any, hidden: tuple[str, ...]) -> Any:
    if isinstance(value, Mapping):
        return {k: _scrub(v, hidden) for k, v in value.items() if not SECRET_NAME.search(str(k))}
    if isinstance(value, list | tuple):
        return [_scrub(v, hidden) for v in value]
    if isinstance(value, str) and any(secret in value for secret in hidden):
        return REDACTED
    return value
