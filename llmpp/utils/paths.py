"""Where llmpp keeps files outside the run dir."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def cache_dir() -> Path:
    """The user cache dir: ``LLMPP_CACHE_DIR``, else the platform's (honours XDG_CACHE_HOME)."""
    override = os.environ.get("LLMPP_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir("llmpp"))


def project_root() -> Path:
    """The checkout llmpp runs from (its ``conf/`` lives here)."""
    return Path(__file__).resolve().parents[2]


def conf_dir() -> Path:
    """The Hydra config tree."""
    return project_root() / "conf"
