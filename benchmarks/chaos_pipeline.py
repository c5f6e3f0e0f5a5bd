"""Kill ``llmpp run experiment=run_smoke`` many times, anywhere, and check it ends as an
uninterrupted run does.

The chaos run is SIGKILLed (its main process only) at ``--kills`` instants spread over
every step (a corpus build with its worker pool up, supernet training, a checkpoint
write, between two steps, latency measuring, a demonstration's training, a label batch
with a request in flight, distillation, a search iteration, retraining) and restarted
after each kill until an attempt finishes; the instants are read from the run's progress
(files in the artifacts directory, requests at the fake LLM server), with a seeded
random delay. Then the same command runs once, uninterrupted, in a fresh artifacts
directory with its own reply cache and server. The table says how many kills and
restarts there were, where the kills landed, the LLM requests each run paid (counted at
the server), the children left alive after the kills, and whether every step's result
and the best architecture are equal (see ``llmpp.testing.chaos`` for what is compared).

    .venv/bin/python benchmarks/chaos_pipeline.py --kills 12 --seed 1 [--out table.md]

Runs in a temporary directory (``--keep DIR`` keeps it for a look).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from llmpp.testing.chaos import chaos_experiment


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=12, help="kills (at least 9)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("chaos_pipeline.md"))
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep it")
    args = parser.parse_args()
    began = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - began:6.0f} s] {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="llmpp-chaos-") as scratch:
        work = args.keep or Path(scratch)
        report = chaos_experiment(work, kills=args.kills, seed=args.seed, log=log)
    command = f"python benchmarks/chaos_pipeline.py --kills {args.kills} --seed {args.seed}"
    text = "\n".join([f"`{command}`", "", report.table(), ""])
    for kill in report.chaos.kills:
        text += (f"\n- kill at {kill.target}, {kill.seconds:.1f} s into attempt "
                 f"{kill.attempt}: {len(kill.children)} children, {len(kill.orphans)} left")
    for name in report.chaos.missed:
        text += f"\n- missed (the run went past it): {name}"
    for problem in [*report.differences, *report.paid_twice, *report.leftovers]:
        text += f"\n- PROBLEM: {problem}"
    print(text)
    args.out.write_text(text + "\n")
    ok = not (report.differences or report.paid_twice or report.leftovers or report.orphans)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
