"""Build and write the comparison report of a set of finished runs.

``build_report`` only reads; ``write_report`` also writes ``report.md``, ``report.csv``
and ``report_<kind>.png`` into a directory (the report stage's run dir, or a sweep dir
from the multirun callback).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from llmpp.report.labels import run_labels, varying_keys
from llmpp.report.plots import benchmark_plot, search_plot
from llmpp.report.render import markdown, write_csv
from llmpp.report.rows import Row, metric_rows
from llmpp.report.runs import RunOutput, find_runs
from llmpp.utils.io import atomic_open

MARKDOWN_NAME = "report.md"
CSV_NAME = "report.csv"


@dataclass
class Report:
    """A comparison of runs.

    Attributes:
        runs: the outputs compared, in report order.
        sections: rows by kind (``benchmark``, ``search``...), each with ``run`` and ``dir``.
        varying: by kind, the override keys that label its rows.
        paths: what ``write_report`` wrote, by name (``markdown``, ``csv``, ``plot_<kind>``).
        markdown: the Markdown text (filled by ``write_report``).
    """

    runs: list[RunOutput]
    sections: dict[str, list[Row]]
    varying: dict[str, list[str]]
    paths: dict[str, Path] = field(default_factory=dict)
    markdown: str = ""


def build_report(paths: Sequence[str | Path]) -> Report:
    """Read every finished run under ``paths`` into rows labelled by the varying overrides.

    Raises:
        DataNotFoundError: no path holds an llmpp output (or a path does not exist).
        CorruptFileError: an output cannot be parsed.
    """
    runs = find_runs(list(paths))
    sections: dict[str, list[Row]] = {}
    varying: dict[str, list[str]] = {}
    # Labels are per kind: a search's overrides say nothing about the benchmark rows.
    for kind in dict.fromkeys(run.kind for run in runs):
        of_kind = [run for run in runs if run.kind == kind]
        varying[kind] = varying_keys(of_kind)
        sections[kind] = [
            {"run": label, "dir": str(run.dir), **row}
            for run, label in zip(of_kind, run_labels(of_kind), strict=True)
            for row in metric_rows(kind, run.payload)
        ]
    return Report(runs=runs, sections=sections, varying=varying)


def _plots(report: Report, out_dir: Path) -> dict[str, str]:
    """Write the comparison plots; returns their file names by kind."""
    made: dict[str, Path | None] = {}
    if "benchmark" in report.sections:
        made["benchmark"] = benchmark_plot(
            report.sections["benchmark"], out_dir / "report_benchmark.png"
        )
    searches = [run for run in report.runs if run.kind == "search"]
    if searches:
        # Seeds are replicates: the runs of one setting share a colour.
        if varying_keys(searches, exclude=("seed",)):
            groups = run_labels(searches, exclude=("seed",))
        else:  # nothing but seeds varies (or runs from separate commands)
            groups = [str(run.payload.get("algorithm")) for run in searches]
        made["search"] = search_plot(
            [(group, run.payload) for group, run in zip(groups, searches, strict=True)],
            out_dir / "report_search.png",
        )
    for kind, path in made.items():
        if path is not None:
            report.paths[f"plot_{kind}"] = path
    return {kind: path.name for kind, path in made.items() if path is not None}


def write_report(paths: Sequence[str | Path], out_dir: str | Path, *, plots: bool = True
                 ) -> Report:
    """Compare the runs under ``paths``; write the Markdown, CSV and plots into ``out_dir``."""
    report = build_report(paths)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = _plots(report, out_dir) if plots else {}
    report.markdown = markdown(report.sections, names, report.varying)
    report.paths["markdown"] = out_dir / MARKDOWN_NAME
    with atomic_open(report.paths["markdown"]) as handle:
        handle.write(report.markdown)
    report.paths["csv"] = write_csv(out_dir / CSV_NAME, report.sections)
    return report


def summary_line(report: Report) -> str:
    """Where the report went, for the terminal."""
    return "wrote " + ", ".join(str(path) for path in report.paths.values())
