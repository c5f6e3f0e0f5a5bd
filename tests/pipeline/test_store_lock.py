"""Two processes sharing a store: a step is built once; a killed builder is taken over.

Real processes (``multiprocessing`` with spawn, as separate ``llmpp run`` jobs would
be), a stage function that sleeps so the second process arrives mid-build, and
marker files that record every build.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

from omegaconf import OmegaConf

from llmpp.pipeline.store import StageStore

CFG = {"stage": "slow", "seed": 1}


def slow_stage(cfg, out_dir: Path) -> dict:
    """Record the build, take a while, then answer with who built it."""
    marker = out_dir.parent.parent / "builds"
    with open(marker, "a") as handle:
        handle.write(f"{os.getpid()}\n")
    (out_dir / "partial").write_text("half done")
    time.sleep(float(os.environ.get("SLOW_STAGE_SECONDS", "1.5")))
    return {"builder": os.getpid(), "value": 42}


def worker(root: str, queue, seconds: str) -> None:
    os.environ["SLOW_STAGE_SECONDS"] = seconds
    store = StageStore(root)  # imports done: what follows takes milliseconds unless it waits
    Path(root, f"started-{os.getpid()}").touch()
    result, reused = store.ensure("slow", OmegaConf.create(CFG), slow_stage)
    queue.put((os.getpid(), result, reused))


def builds(root: Path) -> list[int]:
    path = root / "builds"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def wait_for(predicate, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_two_processes_build_a_step_once(tmp_path) -> None:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(str(tmp_path), queue, "1.5")) for _ in range(2)]
    for proc in procs:
        proc.start()
    answers = [queue.get(timeout=90) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    assert len(builds(tmp_path)) == 1, "the step was built twice"
    results = [result for _, result, _ in answers]
    assert results[0] == results[1] and results[0]["value"] == 42
    assert sorted(reused for _, _, reused in answers) == [False, True]


def test_a_killed_builder_is_taken_over(tmp_path) -> None:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    first = ctx.Process(target=worker, args=(str(tmp_path), queue, "120"))
    first.start()
    wait_for(lambda: len(builds(tmp_path)) == 1, 60)  # it holds the lock, mid-build
    second = ctx.Process(target=worker, args=(str(tmp_path), queue, "0.1"))
    second.start()
    wait_for(lambda: Path(tmp_path, f"started-{second.pid}").exists(), 60)
    time.sleep(1.0)
    assert builds(tmp_path) == [first.pid], "the second process must wait while the first builds"
    assert queue.empty()
    os.kill(first.pid, signal.SIGKILL)
    first.join(timeout=30)
    pid, result, reused = queue.get(timeout=60)
    second.join(timeout=30)
    assert pid == second.pid and not reused and result["builder"] == second.pid
    assert builds(tmp_path) == [first.pid, second.pid]
    # The finished step is reused by anyone later, in this process too.
    again, reused = StageStore(tmp_path).ensure("slow", OmegaConf.create(CFG), slow_stage)
    assert reused and again == result
