"""Row labels: the overrides that differ between the runs being compared.

A sweep's jobs share most overrides (``benchmark.root=...``) and differ in a few
(``predictor=...``); only the latter tell the rows apart, so only they are shown.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from pathlib import Path

from llmpp.report.runs import RunOutput


def parse_override(text: str) -> tuple[str, str] | None:
    """``key=value`` as (key, value), without Hydra's ``+``/``++``/``~`` prefixes.

    Returns None for ``hydra.*`` keys: where a run wrote its files is not what it measured.
    """
    key, sep, value = text.partition("=")
    deleted = key.startswith("~")
    key = key.lstrip("+~")
    if not (sep or deleted) or key == "hydra" or key.startswith(("hydra.", "hydra/")):
        return None
    return key, value if sep else "~"


def varying_keys(runs: Sequence[RunOutput], exclude: Collection[str] = ()) -> list[str]:
    """Override keys whose value differs between runs (absent counts as a value), in order.

    Args:
        exclude: keys never returned (``seed``, to group the replicates of one setting).
    """
    parsed = [dict(filter(None, map(parse_override, run.overrides))) for run in runs]
    keys: list[str] = []
    for overrides in parsed:
        keys += [key for key in overrides if key not in keys and key not in exclude]
    return [key for key in keys if len({overrides.get(key) for overrides in parsed}) > 1]


def common_parent(dirs: Sequence[Path]) -> Path:
    """The deepest dir above every run dir (the sweep dir when all come from one sweep)."""
    resolved = [str(d.resolve()) for d in dirs]
    return Path(os.path.commonpath(resolved)) if resolved else Path(".")


def run_labels(runs: Sequence[RunOutput], exclude: Collection[str] = ()) -> list[str]:
    """One label per run: its varying overrides, else its dir relative to the common parent."""
    keys = varying_keys(runs, exclude)
    parent = common_parent([run.dir for run in runs])
    labels = []
    for run in runs:
        overrides = dict(filter(None, map(parse_override, run.overrides)))
        label = " ".join(f"{key}={overrides[key]}" for key in keys if key in overrides)
        if not label:
            relative = os.path.relpath(run.dir.resolve(), parent)
            label = run.dir.name if relative == "." else relative
        labels.append(label)
    return labels
