"""The local LLM server ends with the process that started it, and never leaks twice.

The served program is the project's fake OpenAI-compatible server (``FakeModelServer``
in ``test_llm_local``), run exactly as llama.cpp's would be. Each test checks the
process table (``/proc``) within a bounded time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmpp.llm.local_server import registry_dir

pytestmark = [
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc"),
    pytest.mark.slow,  # a few Python start-ups each: ~10 s on a busy machine
]

HERE = os.path.dirname(__file__)
# A stage's process: starts the server from a worker thread that then ends (as
# ``llmpp.llm.client.run_sync`` does inside a running event loop), then keeps working.
PARENT = f"""
import sys, threading, time
sys.path.insert(0, {HERE!r})
from test_llm_local import FakeModelServer
server = FakeModelServer(sys.argv[1], alias="m", startup_timeout=60)
starter = threading.Thread(target=server.start)
starter.start(); starter.join()
print(server.process.pid, flush=True)
time.sleep(120)
"""


def state(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, None once it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return None if fields[0] == "Z" else (fields[0], int(fields[1]))


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (seen := state(int(entry.name))) and seen[1] == pid:
            found.append(int(entry.name))
    return found


def wait_gone(pids: list[int], seconds: float = 15.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (alive := [p for p in pids if state(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def start_parent(model: Path) -> tuple[subprocess.Popen, int, int]:
    """A parent process with a running server: (parent, watchdog pid, server pid)."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(model)],
                              stdout=subprocess.PIPE, text=True)
    watchdog = int(parent.stdout.readline())
    servers = children(watchdog) or [watchdog]  # [watchdog]: a server started unwatched
    return parent, watchdog, servers[0]


@pytest.fixture
def model(tmp_path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    return path


def test_server_started_from_a_thread_outlives_the_thread_and_dies_with_its_parent(
    model,
) -> None:
    parent, watchdog, server = start_parent(model)
    try:
        time.sleep(1.0)  # the starting thread has ended: the server must still run
        assert state(server) and state(watchdog), "the server died with its starting thread"
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        parent.stdout.close()
    assert not wait_gone([watchdog, server]), "the server outlived a SIGKILLed parent"


def test_a_stale_server_of_a_killed_run_is_stopped_before_a_new_one_starts(model) -> None:
    """The killed run's server is still up (its watchdog frozen, as if mid-shutdown)."""
    from test_llm_local import FakeModelServer

    parent, watchdog, server = start_parent(model)
    os.kill(watchdog, signal.SIGSTOP)  # the watchdog cannot notice its parent's death
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=10)
    parent.stdout.close()
    try:
        assert state(server), "the stale server is up before the new run"
        with FakeModelServer(model, alias="m", startup_timeout=60) as fresh:
            assert not wait_gone([watchdog, server], 1.0), "stopped before the new one started"
            assert fresh.healthy()
            assert [p.stem for p in registry_dir().glob("*.json")] == [str(fresh.process.pid)]
        assert not list(registry_dir().glob("*.json"))
    finally:
        for pid in (watchdog, server):
            if state(pid):
                os.kill(pid, signal.SIGKILL)
