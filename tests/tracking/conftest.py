"""Fixtures of the stage-logging tests: W&B kept inside the test's tmp dir."""

from __future__ import annotations

import pytest
from tracking_helpers import SECRET


@pytest.fixture(autouse=True)
def wandb_in_tmp(tmp_path, monkeypatch):
    """W&B's staging, cache and settings dirs under tmp_path; an API key in the environment."""
    for name in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "wandb-home" / name.lower()))
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
