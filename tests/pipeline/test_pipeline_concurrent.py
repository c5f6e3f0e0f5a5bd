"""Two `llmpp run` jobs of a sweep that share `run.artifacts`, started together: every step is
built once (the other job waits for it, then reuses it) and both end with the same result."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_two_runs_started_together_build_each_step_once(tmp_path) -> None:
    env = {**os.environ, "WANDB_MODE": "offline"}
    artifacts = tmp_path / "artifacts"

    def start(name: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "llmpp.cli", "run", "experiment=run_smoke", "logger=none",
             f"run.artifacts={artifacts}", f"hydra.run.dir={tmp_path / name}"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )

    jobs = {name: start(name) for name in ("one", "two")}
    for name, job in jobs.items():
        _, err = job.communicate(timeout=1500)
        assert job.returncode == 0, f"{name}: {err[-3000:]}"
    summaries = [json.loads((tmp_path / n / "summary.json").read_text()) for n in jobs]
    assert summaries[0]["best"] == summaries[1]["best"]
    for step in summaries[0]["stages"]:
        built = [d for d in (artifacts / step).iterdir() if d.is_dir()]
        assert len(built) == 1, f"step {step} was built {len(built)} times"
        reused = [s["stages"][step]["reused"] for s in summaries]
        assert sorted(reused) == [False, True], f"step {step}: {reused}"
