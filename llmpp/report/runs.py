"""Finding finished runs: the llmpp JSON outputs under run or sweep dirs, with their overrides.

A run is recognised by the main JSON its stage writes (PRODUCT.md's table); the
overrides come from the ``.hydra/overrides.yaml`` Hydra saves beside it, so rows can
be labelled by what a sweep varied without the user naming it again.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmpp.errors import CorruptFileError, DataNotFoundError

# kind -> the file its stage writes; the order is the order of the report's sections.
OUTPUT_FILES = {
    "benchmark": "benchmark.json",
    "search": "search.json",
    "latency": "latency.json",
    "distill": "distill.json",
    "summary": "summary.json",
}
# A key each kind always holds: a JSON of the same name written by something else is refused.
_REQUIRED_KEY = {
    "benchmark": "tasks",
    "search": "best",
    "latency": "test",
    "distill": "heldout",
    "summary": "best",
}


@dataclass(frozen=True)
class RunOutput:
    """One stage output of one finished run.

    Attributes:
        kind: ``benchmark``, ``search``, ``latency``, ``distill`` or ``summary``.
        dir: the run dir holding the JSON.
        payload: the parsed JSON.
        overrides: the run's command-line overrides (empty when Hydra saved none).
    """

    kind: str
    dir: Path
    payload: dict[str, Any]
    overrides: list[str] = field(default_factory=list)


def natural_key(path: Path) -> list[Any]:
    """Sort ``2`` before ``10`` in Hydra's job-number subdirs."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def _read_json(path: Path, kind: str) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFileError(
            f"{path} is not readable JSON ({exc}); rerun that stage or leave its dir out"
        ) from None
    required = _REQUIRED_KEY[kind]
    if not isinstance(payload, dict) or required not in payload:
        raise CorruptFileError(
            f"{path} is not an llmpp {kind} output (no {required!r} key); "
            "leave that dir out of the report"
        )
    return payload


def read_overrides(run_dir: Path) -> list[str]:
    """The overrides Hydra saved for a run; [] when it saved none or they are unreadable."""
    import yaml

    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        # Only row labels depend on it; the metrics are still worth reporting.
        return []
    return [str(item) for item in loaded] if isinstance(loaded, list) else []


def _output_files(root: Path) -> list[tuple[str, Path]]:
    """Every llmpp output under ``root`` (a run dir, a sweep dir, or a tree of them)."""
    names = {name: kind for kind, name in OUTPUT_FILES.items()}
    if root.is_file():
        return [(names[root.name], root)] if root.name in names else []
    found = []
    for current, subdirs, files in os.walk(root):
        # Hydra's and submitit's bookkeeping dirs hold no results.
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        found += [(names[f], Path(current) / f) for f in files if f in names]
    return found


def find_runs(paths: list[str | Path]) -> list[RunOutput]:
    """Every finished run's output under ``paths``, in a stable order.

    Raises:
        DataNotFoundError: a path does not exist, or none of them holds an llmpp output.
    """
    if not paths:
        raise DataNotFoundError(
            "no run dirs given; pass run or sweep dirs: llmpp report <dir> [<dir> ...]"
        )
    seen: dict[Path, tuple[str, Path]] = {}
    for raw in paths:
        root = Path(raw).expanduser()
        if not root.exists():
            raise DataNotFoundError(f"{root} does not exist; pass the dir of a finished llmpp run")
        for kind, path in _output_files(root):
            seen.setdefault(path.resolve(), (kind, path))
    if not seen:
        shown = ", ".join(str(p) for p in paths)
        raise DataNotFoundError(
            f"no llmpp outputs ({', '.join(OUTPUT_FILES.values())}) under {shown}; "
            "pass the run or sweep dir of a finished llmpp stage"
        )
    kinds = list(OUTPUT_FILES)
    ordered = sorted(seen.values(), key=lambda item: (kinds.index(item[0]), natural_key(item[1])))
    return [
        RunOutput(kind, path.parent, _read_json(path, kind), read_overrides(path.parent))
        for kind, path in ordered
    ]
