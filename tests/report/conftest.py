"""Fixtures for the report tests: run dirs laid out as Hydra and the stages leave them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml


@pytest.fixture
def make_run() -> Callable[..., Path]:
    """``make_run(dir, "benchmark.json", payload, overrides)``: a finished run's dir."""

    def make(run_dir: Path, name: str, payload: Any, overrides: list[str] | None = None) -> Path:
        run_dir.mkdir(parents=True, exist_ok=True)
        text = payload if isinstance(payload, str) else json.dumps(payload)
        (run_dir / name).write_text(text, encoding="utf-8")
        if overrides is not None:
            (run_dir / ".hydra").mkdir(exist_ok=True)
            (run_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
        return run_dir

    return make
