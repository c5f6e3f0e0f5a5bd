"""The reply cache survives a torn last record: skipped and counted, answered replies kept.

A child process stores replies and is SIGKILLed, leaving them in SQLite's write-ahead
log; the log is then cut inside the last reply's write, as a power cut or a kill during
a write leaves it. Reopening must keep every earlier reply, skip the torn one, count it
once, and not count it again on the next open.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from llmpp.llm.cache import CachedReply, ReplyCache, request_key
from llmpp.llm.wal import unfinished_frames

WRITER = """
import os, signal, sys
from llmpp.llm.cache import CachedReply, ReplyCache, request_key
cache = ReplyCache(sys.argv[1])
for i in range(int(sys.argv[2])):
    cache.put(request_key({"m": "x"}, f"p{i}", 0, 0), f"p{i}", CachedReply(str(i), 10, 2))
os.kill(os.getpid(), signal.SIGKILL)  # no close: the replies stay in the log
"""


def key(i: int) -> str:
    return request_key({"m": "x"}, f"p{i}", 0, 0)


def write_and_kill(path: Path, n: int) -> None:
    proc = subprocess.run([sys.executable, "-c", WRITER, str(path), str(n)], timeout=60,
                          env={**os.environ})
    assert proc.returncode == -signal.SIGKILL


def test_torn_last_reply_is_skipped_counted_and_the_rest_kept(tmp_path, caplog) -> None:
    path = tmp_path / "replies.sqlite"
    write_and_kill(path, 4)
    wal = Path(f"{path}-wal")
    assert unfinished_frames(wal) == 0, "a kill between writes leaves nothing torn"
    # Cut the log inside the last reply's frames (its commit frame is the last one).
    data = wal.read_bytes()
    page_size = int.from_bytes(data[8:12], "big")
    wal.write_bytes(data[: len(data) - (24 + page_size) // 2])
    assert unfinished_frames(wal) > 0

    with caplog.at_level(logging.WARNING, logger="llmpp.llm.cache"):
        cache = ReplyCache(path)
    assert cache.torn == 1
    assert [cache.get(key(i)) for i in range(3)] == [CachedReply(str(i), 10, 2) for i in range(3)]
    assert cache.get(key(3)) is None and len(cache) == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(path) in warnings[0] and "3 answered" in warnings[0]

    # Counted once: the torn frames are gone from the log even while it stays open.
    again = ReplyCache(path)
    assert again.torn == 0 and len(again) == 3
    again.put(key(3), "p3", CachedReply("3", 10, 2))  # the rerun pays for it once more
    assert len(again) == 4 and len(cache) == 4
    cache.close()
    again.close()


def test_a_clean_cache_counts_nothing(tmp_path) -> None:
    path = tmp_path / "replies.sqlite"
    write_and_kill(path, 2)
    cache = ReplyCache(path)
    assert cache.torn == 0 and len(cache) == 2
    cache.close()


def test_a_write_torn_in_its_first_frame_is_counted(tmp_path, caplog) -> None:
    """One unfinished frame is a torn write too (the log cut inside the last write's first
    frame); the warning says what was skipped and what was kept."""
    path = tmp_path / "replies.sqlite"
    write_and_kill(path, 3)
    wal = Path(f"{path}-wal")
    data = wal.read_bytes()
    frame = 24 + int.from_bytes(data[8:12], "big")
    ends = [32 + frame * (i + 1) for i in range((len(data) - 32) // frame)]
    commits = [end for end in ends if int.from_bytes(data[end - frame + 4:end - frame + 8],
                                                     "big")]
    wal.write_bytes(data[: commits[-2] + frame // 2])  # half of the last write's first frame
    assert unfinished_frames(wal) == 1

    with caplog.at_level(logging.WARNING, logger="llmpp.llm.cache"):
        cache = ReplyCache(path)
    assert cache.torn == 1 and len(cache) == 2
    assert caplog.messages == [
        f"LLM reply cache {path}: skipped 1 reply whose write was cut short (a killed run); "
        "2 answered replies kept"]
    cache.close()
