"""``llmpp label``: labels.jsonl rows, resume after a kill, free reruns."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from llmpp.labels.format import read_rows
from llmpp.llm.cache import ReplyCache, prompt_sha
from llmpp.stages.label import run_label
from llmpp.testing.fake_llm_server import FakeLLMServer

KEYS = {
    "arch",
    "arch_key",
    "prediction",
    "std",
    "samples",
    "failure",
    "backend",
    "model",
    "prompt",
    "task",
    "seed",
    "pool_seed",
}


def overrides(srv, gold_root, *extra):
    return [
        "llm=openai_compatible",
        f"llm.base_url={srv.base_url}",
        "llm.model=fake",
        "llm.backoff_base=0.01",
        f"benchmark.root={gold_root}",
        "predictor.progress=false",
        "logger=none",
        *extra,
    ]


def test_authors_pool_rows(tmp_path, gold_root, compose):
    first: list[str] = []

    def answer(prompt):  # the first architecture asked never gets a number
        first.append(first[0] if first else prompt)
        return "banana" if prompt == first[0] else "25.5"

    with FakeLLMServer(answer=answer) as srv:
        cfg = compose(
            "label",
            overrides(srv, gold_root, "limit=12", "chunk=5", "llm.concurrency=1"),
        )
        summary = run_label(cfg, tmp_path / "run")
    rows = read_rows(tmp_path / "run" / "labels.jsonl")
    assert len(rows) == 12 == summary["rows"]
    assert all(set(row) == KEYS for row in rows)
    assert len({row["arch_key"] for row in rows}) == 12
    failed = [row for row in rows if row["prediction"] is None]
    assert len(failed) == 1 and "no usable number" in failed[0]["failure"]
    ok = [row for row in rows if row["prediction"] is not None]
    assert all(row["prediction"] == 25.5 and row["std"] == 0.0 for row in ok)
    assert {row["task"] for row in rows} == {"wmt14_en_de"} and rows[0]["seed"] == 123
    assert rows[0]["backend"] == "openai_compatible" and rows[0]["prompt"] == "default"


def test_torn_last_line_is_dropped(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps({"a": 1}) + "\n" + '{"a": 2, "b"')
    assert read_rows(path) == [{"a": 1}]
    assert path.read_text() == json.dumps({"a": 1}) + "\n"


def test_killed_run_resumes_without_repeating_answered_calls(
    tmp_path, gold_root, compose, monkeypatch
):
    run_dir, cache_dir = tmp_path / "run", tmp_path / "cache"
    env = {**os.environ, "LLMPP_CACHE_DIR": str(cache_dir)}
    n = 40
    with FakeLLMServer(delay=0.05) as srv:
        extra = (f"n_archs={n}", "pool=sample", "chunk=4", "llm.concurrency=2")
        command = [
            sys.executable,
            "-m",
            "llmpp.cli",
            "label",
            *overrides(srv, gold_root, *extra),
            f"hydra.run.dir={run_dir}",
        ]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 150
        while srv.total_requests < 10 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        process.stderr.close()
        first_phase = srv.total_requests
        assert 10 <= first_phase < n
        cache = ReplyCache(cache_dir / "llm" / "replies.sqlite")
        answered = cache.answered_prompts()
        cache.close()
        assert answered, "replies must be persisted as they arrive"
        srv.log.clear()

        monkeypatch.setenv("LLMPP_CACHE_DIR", str(cache_dir))
        run_label(compose("label", overrides(srv, gold_root, *extra)), run_dir)
        resumed = list(srv.log)
        assert not [p for p in resumed if prompt_sha(p) in answered], (
            "an answered call was repeated"
        )
        assert len(resumed) <= n - len(answered)
        rows = read_rows(run_dir / "labels.jsonl")
        assert len(rows) == n and len({r["arch_key"] for r in rows}) == n
        assert all(r["prediction"] is not None for r in rows)

        # A second identical run elsewhere makes zero calls.
        srv.log.clear()
        summary = run_label(compose("label", overrides(srv, gold_root, *extra)), tmp_path / "again")
        assert srv.log == []
        cost = summary["tasks"]["wmt14_en_de"]["cost"]
        assert cost["llm_calls"] == 0 and cost["cache_hits"] == n


def test_several_pools_in_one_run_and_resume_per_pool(tmp_path, gold_root, compose,
                                                      monkeypatch):
    """pool_seeds=[...] labels each pool with each demo seed; a run killed between pools,
    rerun in the same dir, labels only what is missing (the pool it had not reached) and
    asks nothing twice."""
    import llmpp.stages.label as label_stage
    from llmpp.testing.interrupt import SimulatedKill

    original = label_stage.label_task

    def killed_before_pool_122(*args):
        if args[7] == 122:  # label_task(cfg, task, space, gold, path, done, seed, pool_seed)
            raise SimulatedKill("killed before pool 122")
        return original(*args)

    with FakeLLMServer() as srv:
        both = compose("label", overrides(srv, gold_root, "pool_seeds=[111,122]", "limit=3"))
        monkeypatch.setattr(label_stage, "label_task", killed_before_pool_122)
        with pytest.raises(SimulatedKill):
            run_label(both, tmp_path / "run")
        assert len(srv.log) == 3
        srv.log.clear()
        monkeypatch.setattr(label_stage, "label_task", original)
        summary = run_label(both, tmp_path / "run")
        rows = read_rows(tmp_path / "run" / "labels.jsonl")
        assert sorted({row["pool_seed"] for row in rows}) == [111, 122]
        assert sum(row["pool_seed"] == 122 for row in rows) == 3 == len(rows) - 3
        assert len(srv.log) == 3  # only the new pool was asked
        assert summary["tasks"]["wmt14_en_de"]["labelled"] == 3
