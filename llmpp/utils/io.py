"""Atomic file writes: a reader never sees a half-written artifact."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; rename it over ``path`` only on success.

    An ``OSError`` without a file name (``write`` or ``fsync`` on a full disk) is given
    ``path``, so the one-line error the user sees says which file could not be written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename is None and exc.errno is not None:
            raise type(exc)(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fsync_dir(path: str | os.PathLike) -> None:
    """Make a rename in ``path`` durable: without it a power cut can undo the rename.

    Best effort: some file systems refuse to open or sync a directory.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float as ``None`` (JSON has no NaN: readers choke)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def write_json(path: str | os.PathLike, payload: Any) -> None:
    """Write JSON atomically, indented for people and diff tools; NaN is written as null."""
    with atomic_open(path) as handle:
        json.dump(json_safe(payload), handle, indent=2, sort_keys=False, allow_nan=False)
        handle.write("\n")


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def write_torch(path: str | os.PathLike, payload: Any) -> None:
    """``torch.save`` atomically.

    Serialised in memory first: ``torch.save`` streaming into a file turns a failed
    write (a full disk) into a RuntimeError from its zip writer that hides the cause,
    so the stage could not say which file did not fit.
    """
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_open(path, "wb") as handle:
        handle.write(buffer.getbuffer())
