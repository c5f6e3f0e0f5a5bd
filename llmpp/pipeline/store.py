"""Content-addressed stage outputs: a stage reruns only when its inputs change.

Each stage's output lives in ``<root>/<stage>/<key>/`` where the key hashes the
stage's full resolved config, including the paths of the earlier outputs it reads
(which carry their own keys), so a change anywhere upstream invalidates exactly the
stages downstream of it. ``result.json`` is written last: its presence means done;
a directory without it holds a killed stage's partial state, which the stage resumes.

``result.json`` also records the size and SHA-256 of every file the result names
inside the step's directory (a checkpoint, ``labels.jsonl``, a directory's files).
Reusing a step checks them first: a file truncated, edited or deleted since the step
finished is never reused; the step is rebuilt from scratch with one warning naming
the file (its partial state is not trusted either, so the whole directory goes).

Runs that share the store (a sweep's jobs) take an exclusive ``flock`` on
``<root>/<stage>/<key>.lock`` while building a step: a second run needing the same
step waits, then reuses the result. The OS drops the lock when its holder dies, so
a killed builder's step is taken over (and resumed) by the next run that needs it.
Linux ``flock`` also works on NFS (as a POSIX lock) for jobs on several nodes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from llmpp.errors import CorruptFileError
from llmpp.results import StageResult
from llmpp.utils.io import atomic_open, write_json
from llmpp.utils.lock import exclusive

log = logging.getLogger(__name__)
RESULT = "result.json"
OUTPUTS = "output_files"  # result.json's manifest: relative path -> {"size", "sha256"}
# Result keys that name the step's directory itself (the whole tree is no promise).
_NOT_OUTPUTS = ("dir",)


def config_key(cfg: DictConfig) -> str:
    """A short stable hash of a resolved config (key order does not matter)."""
    payload = json.dumps(OmegaConf.to_container(cfg, resolve=True), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


class StageStore:
    """Runs stage functions at most once per distinct config.

    Args:
        root: directory holding every stage's outputs (shared across runs).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def dir_for(self, stage: str, cfg: DictConfig) -> Path:
        return self.root / stage / config_key(cfg)

    def cached(
        self, stage: str, cfg: DictConfig, result_type: type[StageResult] | None = None
    ) -> Mapping[str, Any] | None:
        """The finished step's result when its outputs are intact (typed when
        ``result_type`` is given), else None."""
        result, problem = self._load(stage, self.dir_for(stage, cfg), result_type)
        return result if problem is None else None

    def _load(
        self, stage: str, out_dir: Path, result_type: type[StageResult] | None = None
    ) -> tuple[Mapping[str, Any] | None, str | None]:
        """(result, None) for a reusable step, (None, None) for an unfinished one, and
        (None, why) for a finished one whose outputs changed since."""
        path = out_dir / RESULT
        if not path.is_file():
            return None, None
        try:
            result = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CorruptFileError(
                f"{path} is corrupt ({exc}); delete {path.parent} to recompute the {stage} step"
            ) from None
        problem = changed_output(out_dir, result.pop(OUTPUTS, None) or {})
        if problem:
            return None, problem
        if result_type is not None:
            return result_type.from_json(result, source=str(path)), None
        return result, None

    def ensure(
        self, stage: str, cfg: DictConfig, fn: Callable[[DictConfig, Path], Mapping[str, Any]],
        result_type: type[StageResult] | None = None,
    ) -> tuple[Mapping[str, Any], bool]:
        """``fn(cfg, dir)``'s result, computed now or reused; returns (result, reused).

        ``result.json`` holds the result's JSON document plus ``stage_seconds``, ``dir``
        and the size and SHA-256 of each output it names; with ``result_type`` the result
        comes back as that type (a saved one lacking a declared field is reported as
        corrupt). Built at most once at a time across processes: see :meth:`lock`. A
        finished step whose outputs changed on disk is rebuilt (see the module docstring).
        """
        out_dir = self.dir_for(stage, cfg)
        done, _ = self._load(stage, out_dir, result_type)
        if done is not None:
            log.info("%s: reusing %s", stage, out_dir)
            return done, True
        with self.lock(stage, out_dir):
            done, problem = self._load(stage, out_dir, result_type)  # another run may have built it
            if done is not None:
                log.info("%s: reusing %s (built by another run)", stage, out_dir)
                return done, True
            if problem is not None:
                log.warning("%s: %s since the step finished; rebuilding it in %s",
                            stage, problem, out_dir)
                discard(out_dir)
            elif out_dir.is_dir():  # a killed build's partial state, resumed below
                clear_torn_writes(stage, out_dir)
            out_dir.mkdir(parents=True, exist_ok=True)
            with atomic_open(out_dir / "config.yaml") as handle:  # what produced this output
                handle.write(OmegaConf.to_yaml(cfg, resolve=True))
            started = time.perf_counter()
            produced = fn(cfg, out_dir)
            doc = produced.to_json() if isinstance(produced, StageResult) else dict(produced)
            doc |= {"stage_seconds": time.perf_counter() - started, "dir": str(out_dir)}
            # result.json is the commit point: the manifest is taken before it is written.
            write_json(out_dir / RESULT, {**doc, OUTPUTS: manifest(out_dir, doc)})
        return (doc if result_type is None else result_type.from_json(doc)), False

    @contextmanager
    def lock(self, stage: str, out_dir: Path) -> Iterator[None]:
        """Hold the step's build lock; waits (saying so in the log) while another run builds.

        The lock file sits beside the step's directory (not in it), so deleting a step's
        directory to recompute it never races with a lock holder.
        """
        with exclusive(out_dir.with_name(f"{out_dir.name}.lock"), what=f"{stage} in {out_dir}"):
            yield


def promised_files(out_dir: Path, result: dict[str, Any]) -> list[Path]:
    """The files inside ``out_dir`` that ``result`` names, a named directory's files included.

    Temp files (``.<name>.*.tmp``, an atomic write in flight) and ``result.json`` are not
    outputs; a path outside ``out_dir`` belongs to another step or to the user.
    """
    root = out_dir.resolve()
    found: set[Path] = set()

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif isinstance(value, list | tuple):
            for item in value:
                visit(item)
        elif isinstance(value, str) and os.sep in value and len(value) < 4096:
            path = Path(value).resolve()  # results name files as the stage saw them
            if path == root or not path.is_relative_to(root):
                return
            if path.is_file():
                found.add(path)
            elif path.is_dir():
                found.update(p for p in path.rglob("*") if p.is_file())

    visit({k: v for k, v in result.items() if k not in _NOT_OUTPUTS})
    return sorted(p for p in found
                  if p.name != RESULT and not is_temp(p))


def file_digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def manifest(out_dir: Path, result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of each promised file, keyed by its path relative to ``out_dir``."""
    root = out_dir.resolve()
    return {
        str(path.relative_to(root)): {"size": path.stat().st_size, "sha256": file_digest(path)}
        for path in promised_files(out_dir, result)
    }


def changed_output(out_dir: Path, outputs: dict[str, dict[str, Any]]) -> str | None:
    """Why the step's outputs are not what it finished with (the first file found), or None.

    Sizes are compared first, so a truncated checkpoint costs no hashing.
    """
    for name, want in outputs.items():
        path = out_dir / name
        if not path.is_file():
            return f"{path} was deleted"
        size = path.stat().st_size
        if size != want["size"]:
            return f"{path} changed size ({size} bytes, {want['size']} when written)"
    for name, want in outputs.items():
        if file_digest(out_dir / name) != want["sha256"]:
            return f"{out_dir / name} was modified (its SHA-256 differs)"
    return None


def is_temp(path: Path) -> bool:
    """An atomic write still in flight, or one whose writer died (``.<name>.*.tmp``)."""
    return path.name.startswith(".") and path.suffix == ".tmp"


def clear_torn_writes(stage: str, out_dir: Path) -> None:
    """Delete the temp files a killed build left in ``out_dir`` (called under its lock).

    A process killed mid-write (a checkpoint, a JSON) leaves its temp file behind; the
    file it was replacing is intact, so resuming is safe, but nothing else would ever
    delete the torn copy (a supernet checkpoint's is as large as the checkpoint).
    """
    torn = [p for p in out_dir.rglob(".*.tmp") if p.is_file() and is_temp(p)]
    for path in torn:
        path.unlink(missing_ok=True)
    if torn:
        log.info("%s: removed %d torn write(s) of a killed run in %s (e.g. %s)",
                 stage, len(torn), out_dir, torn[0].name)


def discard(out_dir: Path) -> None:
    """Remove a step's directory so it is rebuilt from nothing.

    Renamed away first: a run killed while deleting leaves no half-emptied step
    directory that the next run would take for partial state to resume.
    """
    for old in out_dir.parent.glob(f".{out_dir.name}.discarded-*"):  # an earlier kill's
        shutil.rmtree(old, ignore_errors=True)
    trash = out_dir.with_name(f".{out_dir.name}.discarded-{os.getpid()}")
    os.replace(out_dir, trash)
    shutil.rmtree(trash, ignore_errors=True)
