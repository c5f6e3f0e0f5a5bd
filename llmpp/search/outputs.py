"""Files a finished search leaves in its run dir.

``search.json`` (schema in PRODUCT.md), the best architecture as HAT YAML named
after hardware, constraint and score, the final population, every scored
architecture, the best and mean score of every iteration as a PNG (``scores.png``),
and for multi-objective runs the Pareto set as CSV and PNG.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from llmpp.constraints import AllOf, Constraint, MaxLatency, NoConstraint
from llmpp.metrics import efficiency
from llmpp.search.result import SearchResult
from llmpp.space.architecture import Architecture
from llmpp.utils.io import atomic_open, write_json


def describe_constraint(constraint: Constraint | None) -> dict[str, Any]:
    """A JSON description of a constraint (none: ``{"kind": "none"}``)."""
    return dict((constraint or NoConstraint()).describe())


def constraint_tag(description: dict[str, Any]) -> str:
    """A short file-name-safe tag: ``none``, ``gflops-le-1.5``, ``latency-le-200``..."""
    if description.get("kind") in ("none", "NoConstraint") or not description:
        return "none"
    if "type" in description and "limit" in description:  # llmpp.constraints
        kind = str(description["type"]).removeprefix("Max").lower()
        return re.sub(r"[^A-Za-z0-9.+-]+", "-", f"{kind}-le-{description['limit']:g}")
    parts = [f"{k}-{v:g}" if isinstance(v, float) else f"{k}-{v}"
             for k, v in description.items() if k != "kind"]
    text = "_".join([str(description.get("kind", "constraint")), *parts])[:60]
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-") or "constraint"


def arch_metrics(
    arch: Architecture, vocab_size: int, qkv_dim: int, constraint: Constraint | None
) -> dict:
    """GFLOPs, parameters and (when the constraint predicts it) latency of ``arch``."""
    eff = efficiency(arch, vocab_size, qkv_dim)
    latency = None
    members = constraint.constraints if isinstance(constraint, AllOf) else [constraint]
    for member in members:  # a latency constraint knows the (predicted) latency
        if isinstance(member, MaxLatency):
            latency = float(member.value(arch))
    return {
        "latency_ms": latency,
        "gflops": eff.gflops,
        "params": int(eff.num_parameters_without_embedding_weights),
    }


def _clean(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def search_payload(
    result: SearchResult,
    *,
    task: str,
    hardware: str,
    constraint: dict[str, Any],
    metrics: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``search.json`` payload."""
    best = result.best
    return {
        "algorithm": result.algorithm,
        "task": task,
        "hardware": hardware,
        "seed": result.seed,
        "constraint": constraint,
        "best": None if best is None else {
            "arch": best.arch.to_hat(),
            "score": _clean(best.score),
            "predictor": result.best_predictor,
            **metrics,
        },
        "iterations": result.history,
        "wall_seconds": result.wall_seconds,
        "evaluations": {"by_predictor": result.evaluations,
                        "cache_hits_by_predictor": dict(result.cache_hits)},
        # Predictors whose scores on a population were (nearly) constant: they could not
        # rank it, and the search walked at random while they were in charge.
        "constant_scores": list(result.constant_scores),
        "cost": result.cost,
        **(result.extra and {"details": result.extra} or {}),
        **(extra or {}),
    }


def write_best_yaml(out_dir: Path, arch: Architecture, *, hardware: str, tag: str,
                    score: float) -> Path:
    """The best architecture in HAT's subtransformer YAML, named after what it is."""
    path = out_dir / f"best_{hardware}_{tag}_score-{score:.4g}.yaml"
    with atomic_open(path) as handle:
        yaml.safe_dump(arch.to_hat(), handle, sort_keys=False, default_flow_style=None)
    return path


def write_scored_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Rows of plain values as CSV (columns = the first row's keys)."""
    with atomic_open(path) as handle:
        if not rows:
            return
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def pareto_plot(path: Path, points: Sequence[dict[str, Any]], metric: str, title: str) -> None:
    """Score vs efficiency of the Pareto set as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    xs = [p[metric] for p in points]
    ys = [p["score"] for p in points]
    ax.step(xs, ys, where="post", color="tab:blue", alpha=0.5)
    ax.scatter(xs, ys, color="tab:blue")
    ax.set_xlabel(metric)
    ax.set_ylabel("predicted score")
    ax.set_title(title)
    fig.tight_layout()
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=100)
    plt.close(fig)


def _plotted(value: float | None) -> float:
    return math.nan if value is None else float(value)  # a gap in the line


def scores_plot(path: Path, history: Sequence[dict[str, Any]], title: str) -> None:
    """Best and mean score against iteration as a PNG, one panel per ranking predictor.

    Predictors score on their own scales (Distill-PP in BLEU, the supernet a negative
    loss), so HS-NAS's phases get a panel each instead of sharing one axis.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(str(row["predictor"]) for row in history))
    fig, axes = plt.subplots(len(names), 1, figsize=(5, 2.5 + 1.5 * len(names)), squeeze=False)
    for ax, name in zip(axes[:, 0], names, strict=True):
        rows = [row for row in history if str(row["predictor"]) == name]
        steps = [row["iteration"] for row in rows]
        ax.plot(steps, [_plotted(row["best_score"]) for row in rows], marker="o", label="best")
        ax.plot(steps, [_plotted(row["mean_score"]) for row in rows], marker=".", alpha=0.6,
                label="mean")
        ax.set_ylabel(f"score ({name})")
        ax.legend(fontsize=7)
    axes[-1, 0].set_xlabel("iteration")
    axes[0, 0].set_title(title)
    fig.tight_layout()
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=100)
    plt.close(fig)


def write_outputs(out_dir: Path, payload: dict[str, Any], result: SearchResult, *,
                  hardware: str, pareto: Sequence[dict[str, Any]] = (),
                  pareto_metric: str = "gflops") -> dict[str, Path]:
    """Write every artifact; returns their paths by kind."""
    paths: dict[str, Path] = {"search": out_dir / "search.json"}
    write_json(paths["search"], payload)
    if result.best is not None:
        tag = constraint_tag(payload["constraint"])
        paths["best"] = write_best_yaml(
            out_dir, result.best.arch, hardware=hardware, tag=tag, score=result.best.score
        )
    population = [{"score": _clean(s.score), "arch": s.arch.to_hat()} for s in result.population]
    paths["population"] = out_dir / "population.json"
    write_json(paths["population"], population)
    if result.history:
        paths["scores_png"] = out_dir / "scores.png"
        scores_plot(paths["scores_png"], result.history, f"{result.algorithm}: score by iteration")
    if pareto:
        rows = [{"score": p["score"], pareto_metric: p[pareto_metric], "key": p["arch"].key(),
                 "arch": p["arch"].short()} for p in pareto]
        paths["pareto_csv"] = out_dir / "pareto.csv"
        write_scored_csv(paths["pareto_csv"], rows)
        paths["pareto_png"] = out_dir / "pareto.png"
        pareto_plot(paths["pareto_png"], rows, pareto_metric, f"{result.algorithm} Pareto set")
    return paths
