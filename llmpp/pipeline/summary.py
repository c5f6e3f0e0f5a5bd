"""The main job's closing report: ``summary.json`` and a table for the terminal."""

from __future__ import annotations

from typing import Any


def build_summary(results: dict[str, dict[str, Any]], reused: dict[str, bool]) -> dict[str, Any]:
    """Collect the numbers a researcher looks at first from every step's result."""
    search = results["search"]
    best = search.get("best") or {}
    retrain = results.get("retrain", {})
    label = results.get("label", {})
    cost: dict[str, float] = {}
    for task in label.get("tasks", {}).values():
        for key, value in task.get("cost", {}).items():
            cost[key] = cost.get(key, 0) + value
    warnings = []
    for name in search.get("constant_scores") or []:
        warnings.append(f"the search's predictor {name} gave (nearly) constant scores: it could "
                        "not rank the population while it was in charge")
    if label.get("constant_labels"):
        warnings.append("the LLM's labels are (nearly) constant: Distill-PP learned no ranking "
                        "from them (a stronger llm= helps)")
    return {
        "warnings": warnings,
        "task": search.get("task"),
        "hardware": search.get("hardware"),
        "constraint": search.get("constraint"),
        "best": {
            "arch": best.get("arch"),
            "predicted_score": best.get("score"),
            "predictor": best.get("predictor"),
            "latency_ms": best.get("latency_ms"),
            "gflops": best.get("gflops"),
            "params": best.get("params"),
        },
        "retrained": {
            key: retrain.get(key)
            for key in ("valid_BLEU", "test_BLEU", "valid_loss", "test_loss")
            if key in retrain
        },
        "search_seconds": search.get("wall_seconds", {}),
        "evaluations": search.get("evaluations", {}),
        "llm": {
            "calls": cost.get("llm_calls", 0),
            "cache_hits": cost.get("cache_hits", 0),
            "failures": cost.get("failures", 0),
            "prompt_tokens": cost.get("prompt_tokens", 0),
            "completion_tokens": cost.get("completion_tokens", 0),
            "usd": cost.get("usd", 0.0),
        },
        "stages": {
            name: {
                "dir": result.get("dir"),
                "reused": reused.get(name, False),
                "seconds": result.get("stage_seconds"),
            }
            for name, result in results.items()
        },
    }


def _fmt(value: Any, digits: int = 3) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return "-" if value is None else str(value)


def summary_table(summary: dict[str, Any]) -> str:
    """A Markdown table of the result and of where every stage's output lives."""
    best, retrained, llm = summary["best"], summary["retrained"], summary["llm"]
    by_predictor = summary["search_seconds"].get("by_predictor", {})
    rows = [
        ("task / hardware", f"{summary['task']} / {summary['hardware']}"),
        ("best predicted score", f"{_fmt(best['predicted_score'])} ({best['predictor']})"),
        ("retrained valid / test BLEU",
         f"{_fmt(retrained.get('valid_BLEU'), 2)} / {_fmt(retrained.get('test_BLEU'), 2)}"),
        ("latency (predicted)", f"{_fmt(best['latency_ms'])} ms"),
        ("GFLOPs / params", f"{_fmt(best['gflops'], 4)} / {_fmt(best['params'])}"),
        ("search seconds", _fmt(summary["search_seconds"].get("total"), 1)
         + " (" + ", ".join(f"{k} {v:.1f}" for k, v in by_predictor.items()) + ")"),
        ("LLM calls / cache hits / failures",
         f"{llm['calls']} / {llm['cache_hits']} / {llm['failures']}"),
        ("LLM cost", f"${llm['usd']:.4f}"),
    ]
    lines = ["| result | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]
    lines += ["", "| stage | reused | seconds | output |", "|---|---|---|---|"]
    for name, info in summary["stages"].items():
        lines.append(
            f"| {name} | {'yes' if info['reused'] else 'no'} | {_fmt(info['seconds'], 1)} "
            f"| {info['dir']} |"
        )
    return "\n".join(lines)
