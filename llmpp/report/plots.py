"""Comparison plots: predictors' MAE vs Kendall tau per task; searches' best score vs time.

matplotlib is imported inside the functions: the Hydra callback that writes reports is
built at every stage's start, and most runs never plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

from llmpp.report.rows import Row
from llmpp.utils.io import atomic_open


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    return plt


def _colours(labels: Sequence[str]) -> dict[str, Any]:
    """One colour per distinct label, the same in every panel."""
    plt = _pyplot()
    cmap = plt.get_cmap("tab10" if len(set(labels)) <= 10 else "tab20")
    distinct = list(dict.fromkeys(labels))
    return {label: cmap(i % cmap.N) for i, label in enumerate(distinct)}


def _save(fig: Any, path: Path) -> Path:
    plt = _pyplot()
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _stat(value: Any) -> tuple[float, float] | None:
    if isinstance(value, dict) and value.get("mean") is not None:
        return float(value["mean"]), float(value.get("std") or 0.0)
    return None


def benchmark_plot(rows: Sequence[Row], path: Path) -> Path | None:
    """MAE against Kendall tau (mean ± std over seeds), one panel per task, one colour per run.

    Better predictors sit bottom right. Returns None when no row has both metrics.
    """
    points = [(r, _stat(r.get("kendall")), _stat(r.get("mae"))) for r in rows]
    points = [(r, tau, mae) for r, tau, mae in points if tau and mae]
    if not points:
        return None
    plt = _pyplot()
    tasks = list(dict.fromkeys(str(r["task"]) for r, _, _ in points))
    colours = _colours([r["run"] for r, _, _ in points])
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 4.0), squeeze=False,
                             sharey=True)
    for ax, task in zip(axes[0], tasks, strict=True):
        for row, tau, mae in points:
            if str(row["task"]) != task:
                continue
            ax.errorbar(tau[0], mae[0], xerr=tau[1], yerr=mae[1], fmt="o", capsize=3,
                        color=colours[row["run"]], label=row["run"])
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("Kendall τ (higher is better)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("MAE in BLEU (lower is better)")
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_legend_handles_labels()[0]}
    fig.legend(handles.values(), handles.keys(), loc="upper center", fontsize=7,
               ncol=min(4, len(handles)), bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout()
    return _save(fig, path)


@dataclass(frozen=True)
class SearchCurve:
    """One search's plotted series: its final ranking predictor's best score so far.

    Attributes:
        group: the legend entry (runs of one group share a colour).
        predictor: the predictor whose scores ``best`` holds (its own units).
        seconds: cumulative search wall clock at each plotted iteration, from the start of
            the search (earlier phases' time included).
        best: the best score so far among the iterations that predictor ranked.
    """

    group: str
    predictor: str
    seconds: list[float]
    best: list[float]


def final_predictor(payload: dict[str, Any]) -> str | None:
    """The predictor that ranked the search's answer: ``best.predictor``, else the last
    iteration's."""
    best = payload.get("best")
    if isinstance(best, dict) and best.get("predictor"):
        return str(best["predictor"])
    iterations = payload.get("iterations") or []
    return str(iterations[-1].get("predictor")) if iterations else None


def search_curves(runs: Sequence[tuple[str, dict[str, Any]]]) -> list[SearchCurve]:
    """Per search run with iterations: the final ranking predictor's best score so far.

    Predictors score in their own units (HS-NAS: Distill-PP's predicted BLEU first, the
    supernet's -loss after the switch), so a running maximum across them would compare
    BLEU with -loss and could stick at a number no architecture has on the final scale.
    Only the iterations the final predictor ranked are plotted; their x is the search's
    cumulative wall clock, so the earlier phases' time still counts.
    """
    curves = []
    for group, payload in runs:
        iterations = payload.get("iterations") or []
        predictor = final_predictor(payload)
        seconds = list(accumulate(float(it.get("wall_seconds") or 0.0) for it in iterations))
        pairs = [(s, float(it["best_score"])) for s, it in zip(seconds, iterations, strict=True)
                 if it.get("best_score") is not None and str(it.get("predictor")) == predictor]
        if pairs:
            # An iteration reports its population's best; the curve shows the best so far.
            best = list(accumulate((score for _, score in pairs), max))
            curves.append(SearchCurve(group, str(predictor), [s for s, _ in pairs], best))
    return curves


def search_plot(runs: Sequence[tuple[str, dict[str, Any]]], path: Path) -> Path | None:
    """The final ranking predictor's best score so far against cumulative wall-clock
    seconds, one colour per group (see :func:`search_curves`).

    Args:
        runs: (group, search.json payload) pairs; runs of one group (the seeds of one
            algorithm) share a colour and a legend entry.
    """
    curves = search_curves(runs)
    if not curves:
        return None
    plt = _pyplot()
    colours = _colours([c.group for c in curves])
    predictors = list(dict.fromkeys(c.predictor for c in curves))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    named: set[str] = set()
    for curve in curves:
        # Groups ranked finally by different predictors say which, as their units differ.
        text = curve.group if len(predictors) == 1 else f"{curve.group} [{curve.predictor}]"
        label = None if text in named else text
        named.add(text)
        ax.step(curve.seconds, curve.best, where="post", color=colours[curve.group],
                label=label, alpha=0.7)
    ends = [c.seconds[-1] for c in curves if c.seconds[-1] > 0]
    starts = [c.seconds[0] for c in curves if c.seconds[0] > 0]
    if starts and max(ends) > 20 * min(starts):
        ax.set_xscale("log")  # fast and slow algorithms on one axis
    ax.set_xlabel("search wall clock (s)")
    ax.set_ylabel(f"best score so far ({', '.join(predictors)})")
    ax.set_title("final ranking predictor's score; earlier phases' time counted", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)
