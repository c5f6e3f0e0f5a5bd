"""The report as text: one Markdown section and one CSV table over every kind of run."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmpp.report.rows import COLUMNS, Column, Row
from llmpp.utils.io import atomic_open

# Leading columns of every row: what the run is, and where it lives.
LABEL_COLUMNS = ("kind", "run", "dir")


def format_cell(value: Any, column: Column) -> str:
    """A value as Markdown shows it: ``mean ± std`` for stats, fixed decimals for floats."""
    if value is None:
        return "-"
    if column.stat and isinstance(value, dict):
        mean, std = value.get("mean"), value.get("std")
        if mean is None:
            return "-"
        digits = column.digits or 3
        return f"{mean:.{digits}f} ± {(std or 0.0):.{digits}f}"
    if isinstance(value, float) and column.digits is not None:
        return f"{value:.{column.digits}f}"
    # A pipe inside a cell would split the Markdown row.
    return str(value).replace("|", "\\|")


def markdown_section(kind: str, rows: Sequence[Row], plot: str | None, varying: list[str]
                     ) -> list[str]:
    """The lines of one kind's table (and its plot) in the Markdown report."""
    columns = COLUMNS[kind]
    runs = len({row["dir"] for row in rows})
    shown = ", ".join(varying) if varying else "none (rows labelled by run dir)"
    lines = [
        f"## {kind}",
        "",
        f"{runs} runs; overrides that vary: {shown}",
        "",
        "| run | " + " | ".join(c.header for c in columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for row in rows:
        cells = [format_cell(row.get(c.key), c) for c in columns]
        lines.append(f"| {format_cell(row['run'], Column('run', 'run'))} | " + " | ".join(cells)
                     + " |")
    if plot:
        lines += ["", f"![{kind}]({plot})"]
    return [*lines, ""]


def markdown(sections: dict[str, list[Row]], plots: dict[str, str],
             varying: dict[str, list[str]]) -> str:
    """The whole report: one table per kind of run, each saying which overrides vary."""
    lines = ["# llmpp report", ""]
    for kind, rows in sections.items():
        lines += markdown_section(kind, rows, plots.get(kind), varying.get(kind, []))
    return "\n".join(lines).rstrip() + "\n"


def csv_fields(sections: dict[str, list[Row]]) -> list[str]:
    """The CSV header: label columns, then every kind's metrics (stats as mean and std)."""
    fields = list(LABEL_COLUMNS)
    for kind in sections:
        for column in COLUMNS[kind]:
            names = [f"{column.key}_mean", f"{column.key}_std"] if column.stat else [column.key]
            fields += [name for name in names if name not in fields]
    return fields


def _csv_row(kind: str, row: Row) -> dict[str, Any]:
    flat: dict[str, Any] = {"kind": kind, "run": row["run"], "dir": row["dir"]}
    for column in COLUMNS[kind]:
        value = row.get(column.key)
        if column.stat:
            value = value if isinstance(value, dict) else {}
            flat[f"{column.key}_mean"] = value.get("mean")
            flat[f"{column.key}_std"] = value.get("std")
        else:
            flat[column.key] = value
    return flat


def write_csv(path: Path, sections: dict[str, list[Row]]) -> Path:
    """One CSV over every kind (a ``kind`` column; cells of other kinds' metrics stay empty)."""
    with atomic_open(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=csv_fields(sections), lineterminator="\n")
        writer.writeheader()
        for kind, rows in sections.items():
            writer.writerows(_csv_row(kind, row) for row in rows)
    return path
