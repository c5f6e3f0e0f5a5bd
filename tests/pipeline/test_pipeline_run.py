"""`llmpp run` end to end on the smallest budgets, then a rerun that reuses everything.

The first run is a real process with the default (local llama.cpp) LLM; the rerun goes
through the CLI's entry in this process (`tests/cli_runner.py`).

It also checks the promises of the one config tree: a command-line override of the
search budget reaches the search (over the preset's value), and every step that trains
or searches leaves its own offline W&B run, grouped under the pipeline run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run_cli

from llmpp.testing.wandb_offline import offline_runs

pytestmark = pytest.mark.slow
LOGGING_STEPS = {"supernet", "gold", "search", "retrain"}  # the steps that train or search


def check_wandb_runs(artifacts: Path, group: str) -> None:
    runs = offline_runs(artifacts)
    by_step = {}
    for run in runs:
        assert run.group == group, f"{run.path}: group {run.group!r}"
        by_step.setdefault(run.job_type, []).append(run)
    assert LOGGING_STEPS <= set(by_step), sorted(by_step)
    assert all(len(found) == 1 for found in by_step.values()), {
        k: len(v) for k, v in by_step.items()}
    keys = by_step["search"][0].metric_keys
    # HS-NAS's scores live under each predictor's own key, never mixed in one chart.
    assert {"search/best_score/llm_distill", "search/best_score/supernet"} <= keys
    assert "search/best_score" not in keys and "search/phase" in keys
    supernet_keys = by_step["supernet"][0].metric_keys
    assert any(k.startswith(("train/", "val/", "eval/")) for k in supernet_keys)
    assert not any(k.startswith("search/") for k in supernet_keys)
    # Runs compare by what varied: each carries its step's resolved config.
    supernet = by_step["supernet"][0].config
    assert supernet["choices"]["model"] == "hat"
    assert supernet["model"]["supernet"]["_target_"].endswith("SuperTransformer")
    assert (supernet["task"]["name"], supernet["space"]["name"]) == ("synthetic_en_de", "hat_mini")
    for step in ("gold", "retrain", "search"):
        config = by_step[step][0].config
        assert config["task"]["name"] == "synthetic_en_de", f"{step}: {sorted(config)}"


def test_run_smoke_then_rerun_reuses_every_stage(tmp_path) -> None:
    env = {**os.environ, "WANDB_MODE": "offline"}
    args = [  # after `llmpp`
        "run",
        "experiment=run_smoke",
        "search.iterations=3",
        "logger=wandb",
        f"run.artifacts={tmp_path / 'artifacts'}",
    ]
    first = subprocess.run(
        [sys.executable, "-m", "llmpp.cli", *args, f"hydra.run.dir={tmp_path / 'one'}"],
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
    search = json.loads(
        (Path(summary["stages"]["search"]["dir"]) / "search.json").read_text()
    )
    assert len(search["iterations"]) == 3  # the command line beat the preset's 2
    check_wandb_runs(tmp_path / "artifacts", group="run-one")

    # The rerun in-process (the CLI's own entry): what it reuses is on disk, not in a process.
    second = run_cli([*args, f"hydra.run.dir={tmp_path / 'two'}"], cwd=tmp_path, env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    again = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert all(stage["reused"] for stage in again["stages"].values())
    assert again["best"] == summary["best"]
    assert "llama.cpp server" not in second.stderr  # nothing left to ask the LLM
    assert len(offline_runs(tmp_path / "artifacts")) == len(offline_runs(tmp_path / "artifacts"))
    assert not list((tmp_path / "two").rglob("offline-run-*")), "a reused step starts no run"
