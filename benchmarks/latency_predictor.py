"""Latency predictor quality on this machine: MAPE / Kendall tau on held-out architectures,
beside the measurement's own spread (IQR / median of repeats, and a separate retest pass).

Runs the ``llmpp latency`` stage into a fresh dir and prints one Markdown row per model.

    .venv/bin/python benchmarks/latency_predictor.py OUT_DIR [hydra overrides...]
    e.g. .venv/bin/python benchmarks/latency_predictor.py /tmp/lat_mini
    .venv/bin/python benchmarks/latency_predictor.py /tmp/s0 experiment=latency_bench_space0
"""

from __future__ import annotations

import sys
from pathlib import Path

from llmpp.config import compose
from llmpp.stages.latency import run_latency


def main(out_dir: str, overrides: list[str]) -> None:
    p = run_latency(compose("latency", overrides), Path(out_dir))
    hw, train, measure = p["hardware"], p["training"], p["measurement"]
    iqr, ratio = p["spread"]["iqr_over_median"], p["spread"]["max_over_min"]
    retest = p["retest"] or {}
    print(f"{p['space']} / {p['task']} on {hw['cpu_model']} / {hw['gpu_name']} "
          f"({hw['threads']} thread(s)), beam {measure['beam']}, {measure['repeats']} repeats; "
          f"{train['train']} train / {train['test']} held-out archs; latency "
          f"{p['latency_ms']['min']:.1f}-{p['latency_ms']['max']:.1f} ms; "
          f"wall {p['wall_seconds']['total']:.0f} s")
    print("| model | held-out MAPE % | Kendall tau | CV MAPE % (train) | chosen |")
    print("|---|---|---|---|---|")
    for kind, scores in p["candidates"].items():
        cv = p["cv"].get(kind, {}).get("mape")
        cv_text = "-" if cv is None else f"{cv:.2f}"
        chosen = "yes" if kind == train["chosen"] else ""
        print(f"| {kind} | {scores['mape']:.2f} | {scores['kendall_tau']:.3f} | {cv_text} | "
              f"{chosen} |")
    print(f"measurement spread: IQR/median {100 * iqr['median']:.1f} % median "
          f"(p90 {100 * iqr['p90']:.1f} %), max/min {ratio['median']:.2f} median; "
          f"retest of {retest.get('archs', 0)} held-out archs: "
          f"MAPE {retest.get('mape', float('nan')):.2f} %, "
          f"median ratio {retest.get('median_ratio', float('nan')):.3f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
