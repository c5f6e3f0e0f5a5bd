"""Distill-PP on the gold benchmark next to its teacher (all three WMT tasks).

For every task and protocol seed, the teacher is fitted on that seed's 10
demonstrations, labels the authors' distillation pools of that seed (17 x 500
architectures), and ``llmpp distill`` trains one checkpoint; ``llmpp benchmark``
then scores the teacher, the student, and the student calibrated on the
demonstrations. Usage:

    .venv/bin/python benchmarks/distill_gold.py --root ../shared/llmas/data [--teacher linear]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from llmpp.config import compose
from llmpp.stages.benchmark import run_benchmark
from llmpp.stages.distill import run_distill
from llmpp.task import WMT_TASKS

SEEDS = (123, 456, 789)


def _cfg(stage: str, overrides: list[str]):
    return compose(stage, overrides)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="the authors' data/ folder")
    parser.add_argument("--teacher", default="linear", help="a conf/predictor option")
    parser.add_argument("--out", default="outputs/bench_distill")
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()
    out = Path(args.out) / args.teacher
    rows = {}
    for task in WMT_TASKS:
        for seed in SEEDS:
            started = time.perf_counter()
            if (out / task / str(seed) / "distill.ckpt").is_file():
                continue  # resumable: a finished checkpoint is reused
            report = run_distill(
                _cfg(
                    "distill",
                    [
                        f"task={task}",
                        f"predictor@teacher.predictor={args.teacher}",
                        "teacher.pool=authors",
                        f"teacher.demo_seeds=[{seed}]",
                        f"benchmark.root={args.root}",
                        f"seed={seed}",
                        f"regressor.max_epochs={args.epochs}",
                        "regressor.patience=10",
                        "regressor.batch_size=512",
                        "regressor.progress_bar=false",
                    ],
                ),
                out / task / str(seed),
            )
            print(
                f"{task} {seed}: {report['labels']['used']} labels, held-out MAE "
                f"{report['heldout']['mae']:.4f} tau {report['heldout']['kendall']:.3f} "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    common = ["task=all", f"benchmark.root={args.root}", "plots=false"]
    # Quoted: braces are not allowed in an unquoted Hydra override value.
    checkpoint = f"predictor.checkpoint='{out.resolve()}/{{task}}/{{seed}}/distill.ckpt'"
    for name, overrides in (
        (f"teacher {args.teacher}", [f"predictor={args.teacher}"]),
        ("Distill-PP", ["predictor=llm_distill", checkpoint]),
        (
            "Distill-PP + calibration",
            ["predictor=llm_distill", checkpoint, "predictor.calibrate=true"],
        ),
    ):
        payload = run_benchmark(_cfg("benchmark", [*common, *overrides]), out / "bench" / name)
        rows[name] = {
            t: (r["mae"]["mean"], r["kendall"]["mean"]) for t, r in payload["tasks"].items()
        }
    print("\n| predictor | " + " | ".join(WMT_TASKS) + " |\n|---|---|---|---|")
    for name, tasks in rows.items():
        cells = " | ".join(f"{tasks[t][0]:.2f} / {tasks[t][1]:.2f}" for t in WMT_TASKS)
        print(f"| {name} | {cells} |")
    (out / "summary.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
