"""The on-disk reply cache: every LLM reply is stored before it is used.

One SQLite file (WAL journal) holds one row per request key. A key hashes
everything that determines a reply: backend kind, model, mode, the full prompt and
the sampling parameters, plus the sample number and the re-ask number, so a rerun
replays exactly the same sequence of replies and makes zero new calls, and a run
killed at any point resumes where it stopped; a reply whose write was cut short (the
process killed, the machine stopped) is skipped, counted in ``torn`` and logged, and
every reply committed before it is kept. Writes are committed before ``put``
returns; SQLite's locking makes concurrent processes safe, and within one process
a lock serialises the asyncio tasks' writes (run in worker threads so a commit
never stalls the event loop).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmpp.errors import CorruptFileError, FileSystemError
from llmpp.llm.wal import unfinished_frames
from llmpp.utils.paths import cache_dir

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    key TEXT PRIMARY KEY,
    prompt_sha TEXT NOT NULL,
    text TEXT,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    created REAL NOT NULL
)
"""


def default_cache_path() -> Path:
    """``<user cache>/llm/replies.sqlite`` (``LLMPP_CACHE_DIR`` / ``XDG_CACHE_HOME`` honoured)."""
    return cache_dir() / "llm" / "replies.sqlite"


def prompt_sha(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def request_key(identity: dict[str, Any], prompt: str, sample: int, attempt: int) -> str:
    """The cache key of one request: identity (backend, model, mode, sampling) + prompt."""
    payload = json.dumps(
        {"id": identity, "prompt": prompt_sha(prompt), "sample": sample, "ask": attempt},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_STORAGE_FIXES = {
    "full": "the disk is full; free some space",
    "readonly": "the cache is read-only; fix its permissions",
    "unable to open": "the cache cannot be created there",
}


def _storage_error(path: Path, exc: sqlite3.OperationalError) -> FileSystemError:
    """SQLite's storage complaints (open, read-only, full) as the file-system error they are."""
    text = str(exc)
    fix = next((fix for clue, fix in _STORAGE_FIXES.items() if clue in text), text)
    return FileSystemError(
        f"cannot write the LLM reply cache {path}: {fix}; or set LLMPP_CACHE_DIR=<writable dir> "
        "(or predictor.cache=<file>)"
    )


@contextmanager
def _storage_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):  # another process held the write lock past the timeout
            raise
        raise _storage_error(path, exc) from None


@dataclass(frozen=True)
class CachedReply:
    """A stored reply with the tokens it cost when it was first paid for."""

    text: str | None
    prompt_tokens: int
    completion_tokens: int


class ReplyCache:
    """Reply store keyed by :func:`request_key`.

    Args:
        path: the SQLite file; ``None`` means :func:`default_cache_path`.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # one transaction at a time on the shared connection
        try:
            self._db = sqlite3.connect(self.path, timeout=60.0, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit survives the process being killed at any point (the
            # case that matters here); only an OS crash could lose the latest commits.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
            self.torn = self._count_torn()
        except sqlite3.OperationalError as exc:
            raise _storage_error(self.path, exc) from None
        except sqlite3.DatabaseError as exc:
            raise CorruptFileError(
                f"LLM reply cache {self.path} is unreadable ({exc}); move it away to start a "
                "fresh cache (replies will be paid for again)"
            ) from None

    def _count_torn(self) -> int:
        """Writes cut short at the end of the log (0 or 1: SQLite has one writer at a time).

        Counted under the write lock, so another process's write in progress is not
        mistaken for a torn one. SQLite itself already ignores the torn frames.
        """
        self._db.execute("BEGIN IMMEDIATE")
        try:
            torn = int(unfinished_frames(Path(f"{self.path}-wal")) > 0)
        finally:
            self._db.rollback()
        if torn:
            # Drop the torn frames from the log (the replies before them move into the
            # database), so later opens do not count them again. Skipped while others read.
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            log.warning("LLM reply cache %s: skipped %d reply whose write was cut short (a "
                        "killed run); %d answered replies kept", self.path, torn, len(self))
        return torn

    def get(self, key: str) -> CachedReply | None:
        with self._lock:
            row = self._db.execute(
                "SELECT text, prompt_tokens, completion_tokens FROM replies WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else CachedReply(row[0], int(row[1]), int(row[2]))

    def put(self, key: str, prompt: str, reply: CachedReply) -> None:
        """Store ``reply`` durably; returns only after the commit."""
        with self._lock, _storage_errors(self.path), self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?)",
                (
                    key,
                    prompt_sha(prompt),
                    reply.text,
                    reply.prompt_tokens,
                    reply.completion_tokens,
                    time.time(),
                ),
            )

    def answered_prompts(self) -> set[str]:
        """SHA-256 of every prompt with at least one stored reply (for resume checks)."""
        return {row[0] for row in self._db.execute("SELECT DISTINCT prompt_sha FROM replies")}

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        try:
            self._db.close()
        except sqlite3.Error:
            pass
