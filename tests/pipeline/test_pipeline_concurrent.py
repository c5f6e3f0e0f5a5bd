"""Two `llmpp run` jobs of a sweep that share `run.artifacts`, started together: every step is
built once (the other job waits for it, then reuses it) and both end with the same result.

The LLM is the loopback OpenAI-compatible fake (the store's locking is the point here, not
the model; `tests/pipeline/test_pipeline_run.py` runs the local llama.cpp one): it also
counts what the two jobs asked, and each prompt must have been paid for once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from llmpp.testing.fake_llm_server import FakeLLMServer

pytestmark = pytest.mark.slow


def test_two_runs_started_together_build_each_step_once(tmp_path) -> None:
    env = {**os.environ, "WANDB_MODE": "offline"}
    artifacts = tmp_path / "artifacts"

    def start(name: str, base_url: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "llmpp.cli", "run", "experiment=run_smoke", "logger=none",
             "llm=openai_compatible", f"llm.base_url={base_url}", "llm.model=fake",
             "llm.mode=completion", f"run.artifacts={artifacts}",
             f"hydra.run.dir={tmp_path / name}"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )

    with FakeLLMServer() as server:
        jobs = {name: start(name, server.base_url) for name in ("one", "two")}
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
    assert server.counts and set(server.counts.values()) == {1}, server.counts
