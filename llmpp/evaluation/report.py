"""Human-readable views of benchmark results: a Markdown table and scatter plots."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def _num(value: float | None, digits: int = 2) -> str:
    """A metric value; "n/a" when undefined (NaN in memory, null once saved as JSON)."""
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _pm(stat: dict[str, float | None], digits: int = 2) -> str:
    """``mean ± std`` over seeds, or "n/a"."""
    mean = _num(stat.get("mean"), digits)
    return mean if mean == "n/a" else f"{mean} ± {_num(stat.get('std'), digits)}"


def markdown_table(payload: dict[str, Any]) -> str:
    """One row per task: MAE, Kendall tau-b, Spearman rho, precision@5 (mean ± std)."""
    lines = [
        f"predictor: {payload['predictor']}",
        "",
        "| task | MAE | Kendall τ | Spearman ρ | P@5 | failures |",
        "|---|---|---|---|---|---|",
    ]
    for task, res in payload["tasks"].items():
        failures = sum(seed.get("failures", 0) for seed in res["seeds"].values())
        lines.append(
            f"| {task} | {_pm(res['mae'])} | {_pm(res['kendall'])} | {_pm(res['spearman'])} "
            f"| {_pm(res['precision_at_5'])} | {failures} |"
        )
    cost = payload.get("cost", {})
    if cost.get("llm_calls") or cost.get("cache_hits"):
        lines += [
            "",
            f"LLM calls {cost['llm_calls']}, cache hits {cost['cache_hits']}, failures "
            f"{cost['failures']}, tokens {cost['prompt_tokens']} + {cost['completion_tokens']}, "
            f"USD {cost['usd']:.4f}",
        ]
    return "\n".join(lines)


def scatter_plot(task: str, predictor: str, result: dict[str, Any], path: Path) -> Path:
    """Predicted vs gold BLEU of every test architecture, one colour per seed."""
    # Imported here: matplotlib costs a second of start-up to every stage that only
    # prints a table (or fails fast on a bad endpoint).
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4.8, 4.4), dpi=120)
    lo, hi = float("inf"), float("-inf")
    for seed, row in result["seeds"].items():
        pairs = [(p["gold"], p["pred"]) for p in row["predictions"] if p["pred"] is not None]
        if not pairs:
            continue
        gold, pred = zip(*pairs, strict=True)
        ax.scatter(gold, pred, s=18, alpha=0.8, label=f"seed {seed}")
        lo, hi = min(lo, *gold, *pred), max(hi, *gold, *pred)
    if lo < hi:
        pad = 0.05 * (hi - lo)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=0.8, label="y = x")
    ax.set_xlabel("gold BLEU (from scratch)")
    ax.set_ylabel("predicted BLEU")
    mae, tau = _num(result["mae"]["mean"]), _num(result["kendall"]["mean"])
    ax.set_title(f"{task}: MAE {mae}, τ {tau}\n{predictor}", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return path
