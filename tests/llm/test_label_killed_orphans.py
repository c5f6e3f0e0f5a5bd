"""`llmpp label llm=local` SIGKILLed mid-batch leaves no process behind.

The real stage in its own process, the real llama.cpp server of the bundled model: once the
server answers and the stage has started its first batch, the stage is SIGKILLed (no
handler of its can run) and every process it had started must be gone soon after.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_llm_orphans import children, state, wait_gone  # noqa: E402

pytestmark = pytest.mark.slow  # a model server start-up and a few seconds of labelling


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        found += kids
        todo += kids
    return found


def test_label_killed_mid_batch_leaves_no_server_or_worker(tmp_path, gold_root) -> None:
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "llmpp.cli", "label", "llm=local", "logger=none",
               f"benchmark.root={gold_root}", "pool_seeds=[111]", "demo_seeds=[123]",
               "limit=120", "chunk=120", f"hydra.run.dir={run_dir}"]
    stage = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    started: list[int] = []
    try:
        deadline = time.monotonic() + 240
        server_log = Path(os.environ["LLMPP_CACHE_DIR"]) / "llm" / "server.log"
        # Mid-batch: the server is up below the stage and has answered a request of the
        # first batch (llama.cpp's server logs "stop processing" as it releases the slot
        # of a finished request), with the rest of the batch still to come.
        while time.monotonic() < deadline and stage.poll() is None:
            started = descendants(stage.pid)
            if started and server_log.is_file() and "stop processing" in server_log.read_text(
                    errors="replace"):
                break
            time.sleep(0.2)
        assert stage.poll() is None, f"the stage ended before it was killed: {stage.stderr.read()}"
        assert time.monotonic() < deadline, "the server answered no request within 240 s"
        assert started, "no server was started below the stage"
        started = descendants(stage.pid)  # the latest picture, just before the kill
        os.kill(stage.pid, signal.SIGKILL)
        stage.wait(timeout=30)
        left = wait_gone(started, seconds=20)
        assert not left, f"processes outlived the killed stage: {[state(p) for p in left]}"
        assert not (run_dir / "labels.jsonl").exists() or \
            (run_dir / "labels.jsonl").read_text().count("\n") < 120, "the batch had finished"
    finally:
        if stage.poll() is None:
            os.kill(stage.pid, signal.SIGKILL)
            stage.wait(timeout=30)
        for pid in wait_gone(started, seconds=0):  # only what this test's stage started
            os.kill(pid, signal.SIGKILL)
        stage.stderr.close()
