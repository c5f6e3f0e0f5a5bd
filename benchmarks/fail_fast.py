"""How fast an unusable LLM endpoint ends a stage, against the cost of start-up alone.

Runs, alternately and side by side, the issue's command (``llmpp benchmark`` against
a URL nothing listens on) and the same stage failing before any LLM work (a missing
API key): both import the same modules, so the ratio of their wall times is the cost
of the endpoint check whatever the machine's load (before the fix: about 70 s of
retries, then exit 0 with a table of nan). Also reports exit codes and how many
lines each printed on stderr.

    .venv/bin/python benchmarks/fail_fast.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOLD = Path(__file__).resolve().parents[2] / "shared" / "llmas" / "data"
COMMON = ["predictor=llm_pp", "task=wmt14_en_de", f"benchmark.root={GOLD}"]
COMMANDS = {
    "missing key (start-up only)": ["llm=openai", *COMMON],
    "unreachable endpoint": ["llm=openai_compatible", "llm.base_url=http://127.0.0.1:9/v1",
                             "llm.model=x", *COMMON],
}


def run_once(args: list[str], run_dir: Path) -> tuple[float, int, int]:
    """(wall seconds, exit code, stderr lines) of one ``llmpp benchmark`` run."""
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "llmpp.cli", "benchmark", *args, f"hydra.run.dir={run_dir}"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    return time.perf_counter() - started, proc.returncode, len(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    walls: dict[str, list[float]] = {name: [] for name in COMMANDS}
    outcome: dict[str, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for name, command in COMMANDS.items():
                wall, code, lines = run_once(command, Path(tmp) / f"{round_}-{len(walls[name])}")
                walls[name].append(wall)
                outcome[name] = (code, lines)
    base = statistics.median(walls["missing key (start-up only)"])
    print("| command | exit code | stderr lines | median wall / start-up-only wall |")
    print("|---|---|---|---|")
    for name in COMMANDS:
        code, lines = outcome[name]
        print(f"| {name} | {code} | {lines} | {statistics.median(walls[name]) / base:.2f} |")


if __name__ == "__main__":
    main()
