"""Benchmark every `bench_*` preset on the gold data and print one Markdown table.

Usage:
    python benchmarks/predictor_table.py [--root ../shared/llmas/data] [--presets a,b]

Each row is exactly `llmpp benchmark experiment=<preset>`; cells are MAE / Kendall tau
(mean over seeds 123/456/789). The last column says whether the row meets the target
of ../shared/docs/BENCHMARKS.md (MAE <= 0.15 and tau >= 0.85 on every task).

A preset that needs something the user makes first (Distill-PP checkpoints, an API
key) is skipped with one line on stderr saying what it needs; the other rows still run.
The local-LLM row (180 queries to the embedded model, about 48 minutes on two cores)
runs only when named in --presets.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from llmpp.config import compose
from llmpp.errors import UserError
from llmpp.stages.benchmark import run_benchmark
from llmpp.utils.paths import conf_dir

TASKS = ("wmt14_en_de", "wmt14_en_fr", "wmt19_en_de")


def presets(selected: str | None) -> list[str]:
    names = sorted(p.stem for p in (conf_dir() / "experiment").glob("bench_*.yaml"))
    if selected:
        names = [n for n in names if n in selected.split(",")]
    return names


LOCAL_LLM = "llmpp.llm.local.LocalBackend"


class Skipped(Exception):
    """A row left out on purpose; its message says why and how to run it."""


def row(preset: str, root: str | None, out: Path, named: bool = False) -> str:
    overrides = [f"experiment={preset}"] + ([f"benchmark.root={root}"] if root else [])
    # No W&B run: the run dirs are temporary, the table is the result.
    cfg = compose("benchmark", overrides + ["plots=false", "logger=none"])
    if not named and cfg.get("llm") and cfg.llm.get("_target_") == LOCAL_LLM:
        raise Skipped(f"the local LLM answers 180 queries (about 48 minutes on two cores); "
                      f"run it with --presets {preset}")
    payload = run_benchmark(cfg, out / preset)
    cells, meets = [], True
    for task in TASKS:
        res = payload["tasks"][task]
        mae, tau = res["mae"]["mean"], res["kendall"]["mean"]
        meets &= mae <= 0.15 and tau >= 0.85
        cells.append(f"{mae:.2f} / {tau:.2f}")
    verdict = "yes" if meets else "no"
    return f"| `{preset}` | {payload['predictor']} | " + " | ".join(cells) + f" | {verdict} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.environ.get("LLMPP_BENCHMARK_ROOT"))
    parser.add_argument("--presets", default=None, help="comma-separated subset")
    args = parser.parse_args()
    print("| preset | predictor | wmt14 en-de | wmt14 en-fr | wmt19 en-de | target met |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for preset in presets(args.presets):
            try:
                line = row(preset, args.root, Path(tmp), named=bool(args.presets))
            except (UserError, Skipped) as exc:  # inputs the user must make first: say so
                problem = " ".join(str(exc).split())
                print(f"skipped {preset}: {problem}", file=sys.stderr, flush=True)
                continue
            print(line, flush=True)


if __name__ == "__main__":
    main()
