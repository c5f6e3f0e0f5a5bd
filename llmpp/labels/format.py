"""Teacher labels (``labels.jsonl``): one scored architecture per line.

The format is the one ``llmpp label`` writes for LLM-PP, and any other teacher can
write it too (``llmpp.labels.teacher``)::

    {"arch": {<HAT subtransformer keys>}, "arch_key": str, "prediction": float | null,
     "std": float | null, "samples": [...], "failure": str | null, "backend": str,
     "model": str, "prompt": str, "task": str, "seed": int}

Rows without a prediction are the teacher's failures: they are skipped and counted,
unless a later row of the same architecture (same task and seed) has a prediction —
``llmpp label`` asks failed architectures again on a rerun and appends the answer.

Two readers: :func:`read_rows` gives the raw rows to the labeller that appends to the
file (dropping a torn last line a killed run left), :func:`read_labels` gives the
validated training set to distillation.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from llmpp.errors import CorruptFileError, DataNotFoundError, InvalidArchitectureError
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace
from llmpp.utils.io import atomic_open

LABELS = "labels.jsonl"  # the file name every stage writes its labels under
PROVENANCE_KEYS = ("backend", "model", "prompt", "task", "seed")


@dataclass
class LabelSet:
    """The usable rows of a labels file, with what was skipped and where they came from."""

    archs: list[Architecture]
    targets: np.ndarray
    seeds: list[int | None]
    rows: int = 0
    failures: int = 0
    filtered: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def unique(self) -> int:
        return len({a.key() for a in self.archs})


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _parse_line(path: Path, number: int, line: str) -> Mapping[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorruptFileError(f"{path}:{number} is not valid JSON ({exc.msg})") from None
    if not isinstance(row, Mapping) or "arch" not in row or "prediction" not in row:
        raise CorruptFileError(
            f"{path}:{number} is not a label row (needs 'arch' and 'prediction'); "
            "write labels with `llmpp label` or llmpp.labels.teacher"
        )
    return row


def _target(path: Path, number: int, row: Mapping[str, Any]) -> float | None:
    value = row.get("prediction")
    if value is None or row.get("failure"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CorruptFileError(f"{path}:{number}: prediction {value!r} is not a number")
    return float(value) if math.isfinite(value) else None


def _row_identity(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """Which architecture of which task, seed (and pool) a row labels."""
    arch = row.get("arch_key") or json.dumps(row.get("arch"), sort_keys=True)
    return row.get("task"), row.get("seed"), row.get("pool_seed"), arch


def read_labels(path: str | Path, space: SearchSpace, *, seed: int | None = None) -> LabelSet:
    """Parse ``path`` and validate every architecture against ``space``.

    Args:
        path: a ``labels.jsonl`` file.
        space: the space the regressor will be trained for.
        seed: keep only rows of this protocol seed (``None`` keeps all).
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(
            f"labels file {path} does not exist; run `llmpp label` (or pass labels=<labels.jsonl>)"
        )
    labels = LabelSet(archs=[], targets=np.zeros(0), seeds=[])
    values: list[float] = []
    failed: list[tuple[Any, ...]] = []  # a failure answered by a later row is no failure
    answered: set[tuple[Any, ...]] = set()
    seen: dict[str, Counter] = {key: Counter() for key in PROVENANCE_KEYS}
    with open(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            row = _parse_line(path, number, line)
            labels.rows += 1
            if seed is not None and row.get("seed") != seed:
                labels.filtered += 1
                continue
            target = _target(path, number, row)
            if target is None:
                failed.append(_row_identity(row))
                continue
            answered.add(_row_identity(row))
            try:
                arch = space.from_hat(row["arch"])
            except InvalidArchitectureError as exc:
                raise InvalidArchitectureError(
                    f"{path}:{number}: {exc} (were these labels made for another space?)"
                ) from None
            labels.archs.append(arch)
            labels.seeds.append(row.get("seed"))
            values.append(target)
            for key in PROVENANCE_KEYS:
                seen[key][str(row.get(key))] += 1
    labels.failures = sum(key not in answered for key in failed)
    labels.targets = np.asarray(values, dtype=np.float64)
    labels.provenance = {
        "path": str(path.resolve()),
        "sha256": _file_sha256(path),
        **{key: dict(counts) for key, counts in seen.items()},
    }
    return labels


def label_row(
    arch: Architecture,
    prediction: float | None,
    *,
    backend: str,
    model: str,
    task: str,
    seed: int | None,
    prompt: str | None = None,
) -> dict[str, Any]:
    """One row in the labels format; a non-finite prediction becomes a failure."""
    ok = prediction is not None and math.isfinite(prediction)
    return {
        "arch": arch.to_hat(),
        "arch_key": arch.key(),
        "prediction": float(prediction) if ok else None,
        "std": None,
        "samples": [float(prediction)] if ok else [],
        "failure": None if ok else "no finite prediction",
        "backend": backend,
        "model": model,
        "prompt": prompt,
        "task": task,
        "seed": seed,
    }


def write_labels(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write rows atomically as JSON lines; returns how many were written."""
    count = 0
    with atomic_open(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, sort_keys=False) + "\n")
            count += 1
    return count


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Complete label rows of ``path``; a torn last line (killed mid-write) is dropped.

    The file is rewritten without the torn line, so later appends stay line-aligned.
    A missing file has no rows.
    """
    if not path.is_file():
        return []
    rows, torn = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            torn = True
    if torn:
        with atomic_open(path) as handle:
            handle.writelines(json.dumps(row) + "\n" for row in rows)
    return rows


def append_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Append rows and make them durable before returning (a killed run keeps them)."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(row) + "\n" for row in rows))
        handle.flush()
        os.fsync(handle.fileno())
