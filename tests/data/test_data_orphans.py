"""Data-build workers end with a builder that is SIGKILLed (no orphaned encoders).

An idle pool worker notices its builder's death when its task pipe closes; a busy one
would finish its chunk first (here a 60 s task stands for a long chunk), so the test
keeps both workers busy and gives them 15 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers_data import tiny_task

from llmpp.data.build import build_into

BUILDER = """
import sys, time
from pathlib import Path
from llmpp.data.build import start_pool
pool = start_pool(2, Path(sys.argv[1]))
busy = [pool.apply_async(time.sleep, (60,)) for _ in range(2)]  # a long chunk in each worker
print(*[p.pid for p in pool._pool], flush=True)
time.sleep(120)
"""


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


@pytest.mark.slow  # two spawned workers import numpy and SentencePiece: several seconds
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_workers_die_with_a_sigkilled_builder(tmp_path) -> None:
    build_into(tiny_task(train=100), tmp_path, workers=1, chunk_pairs=1000)
    builder = subprocess.Popen([sys.executable, "-c", BUILDER, str(tmp_path / "spm.model")],
                               stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(pid) for pid in builder.stdout.readline().split()]
        assert len(workers) == 2
        time.sleep(1.0)  # the workers have run their initializer
        assert all(alive(pid) for pid in workers)
    finally:
        os.kill(builder.pid, signal.SIGKILL)
        builder.wait(timeout=10)
        builder.stdout.close()
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "encoding workers outlived their builder"
