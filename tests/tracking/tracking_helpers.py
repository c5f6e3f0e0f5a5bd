"""Reading back what a stage logged: its offline W&B run, and that no secret leaked."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from llmpp.testing.wandb_offline import OfflineRun, offline_runs

SECRET = "sk-test-never-log-4f9c2a7e51"


def wait_for_run(root: Path, done: Callable[[OfflineRun], bool], timeout: float = 60) -> OfflineRun:
    """The one offline run under ``root``, once ``done`` holds (wandb-core flushes late)."""
    deadline = time.monotonic() + timeout
    while True:
        runs = offline_runs(root)
        if len(runs) == 1 and done(runs[0]):
            return runs[0]
        if time.monotonic() > deadline:
            summary = [(r.name, sorted(r.summary)) for r in runs]
            raise AssertionError(f"expected one finished offline run under {root}: {summary}")
        time.sleep(0.2)


def assert_no_secret(root: Path) -> None:
    """No file under ``root`` holds the API key set in the environment."""
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files
    leaked = [p for p in files if SECRET.encode() in p.read_bytes()]
    assert not leaked, f"the API key leaked into {leaked}"
