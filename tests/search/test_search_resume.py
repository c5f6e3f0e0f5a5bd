"""A search killed mid-run and resumed ends exactly like an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from search_driver import toy_config

from llmpp.stages.search import run_search

DRIVER = Path(__file__).with_name("search_driver.py")


def _comparable(payload: dict) -> dict:
    history = [{k: v for k, v in it.items() if "seconds" not in k} for it in payload["iterations"]]
    # The predictors' cost counts the work before the kill too (it is not redone: memoised).
    return {"best": payload["best"], "history": history, "evaluations": payload["evaluations"],
            "cost": payload["cost"]}


def _kill_after(run_dir: Path, overrides: list[str], iteration: int) -> None:
    proc = subprocess.Popen([sys.executable, str(DRIVER), str(run_dir), "0.01", *overrides])
    state = run_dir / "search_state.json"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if (
                state.is_file()
                and json.loads(state.read_text())["algorithm"]["iteration"] >= iteration
            ):
                break
            if proc.poll() is not None:
                pytest.fail("the search finished before it could be killed; slow it down")
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert not (run_dir / "search.json").exists(), "the run must be killed mid-search"


@pytest.mark.parametrize("search", ["hs_nas", "optuna_tpe"])
def test_search_kill_and_resume_matches_uninterrupted(tmp_path, search):
    overrides = ["logger=none", f"search={search}", "search.iterations=8"]
    if search == "optuna_tpe":
        overrides.append("search.trials_per_iteration=12")
    reference = run_search(toy_config(overrides), tmp_path / "reference")
    killed = tmp_path / "killed"
    _kill_after(killed, overrides, iteration=3)
    resumed = run_search(toy_config(["resume=" + str(killed)]), tmp_path / "ignored")
    assert resumed["run_dir"] == str(killed)
    assert _comparable(resumed) == _comparable(reference)
