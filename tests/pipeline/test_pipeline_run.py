"""`llmpp run` end to end on the smallest budgets, then a rerun that reuses everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_run_smoke_then_rerun_reuses_every_stage(tmp_path) -> None:
    env = {**os.environ, "WANDB_MODE": "offline"}
    args = [
        sys.executable,
        "-m",
        "llmpp.cli",
        "run",
        "experiment=run_smoke",
        f"run.artifacts={tmp_path / 'artifacts'}",
    ]
    first = subprocess.run(
        [*args, f"hydra.run.dir={tmp_path / 'one'}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert first.returncode == 0, first.stderr[-3000:]
    summary = json.loads((tmp_path / "one" / "summary.json").read_text())
    assert summary["best"]["arch"] and summary["best"]["gflops"] <= 0.06
    assert summary["best"]["latency_ms"] > 0
    assert "valid_BLEU" in summary["retrained"]
    assert summary["llm"]["calls"] + summary["llm"]["cache_hits"] >= 4
    assert not any(stage["reused"] for stage in summary["stages"].values())
    assert "| best predicted score |" in first.stdout

    second = subprocess.run(
        [*args, f"hydra.run.dir={tmp_path / 'two'}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert second.returncode == 0, second.stderr[-3000:]
    again = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert all(stage["reused"] for stage in again["stages"].values())
    assert again["best"] == summary["best"]
    assert "llama.cpp server" not in second.stderr  # nothing left to ask the LLM
