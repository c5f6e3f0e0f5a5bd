"""Requests per second of the LLM client with concurrency 1 vs 8.

Against llmpp's fake OpenAI-compatible server (its own process on 127.0.0.1)
answering every request after 200 ms, so the number measures the client's
concurrency, not a model. Both runs happen side by side in one process; the ratio
is what to compare (target >= 6x).

    .venv/bin/python benchmarks/llm_throughput.py [--requests 48] [--delay 0.2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from llmpp.llm.backends import OpenAICompatibleBackend
from llmpp.llm.cache import ReplyCache
from llmpp.llm.client import LLMRunner
from llmpp.llm.parse import parse_score


@contextmanager
def server_process(delay: float) -> Iterator[str]:
    """The fake server in its own process (so it does not share the client's GIL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "llmpp.testing.fake_llm_server", "--delay", str(delay)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def requests_per_second(concurrency: int, n: int, delay: float, workdir: Path) -> float:
    """Answered requests per second for ``n`` distinct prompts (fresh cache, no hits)."""
    with server_process(delay) as base_url:
        backend = OpenAICompatibleBackend(
            base_url=base_url, model="fake", mode="completion", concurrency=concurrency, timeout=30
        )
        runner = LLMRunner(backend, ReplyCache(workdir / f"c{concurrency}.sqlite"))
        runner.run(["warm-up"], parse=parse_score)  # connection set-up outside the timing
        prompts = [f"architecture {i}\nBLEU: " for i in range(n)]
        started = time.perf_counter()
        results = runner.run(prompts, parse=parse_score)
        elapsed = time.perf_counter() - started
        assert all(r.samples[0].value is not None for r in results)
        assert runner.meter.cache_hits == 0
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=48)
    parser.add_argument("--delay", type=float, default=0.2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one = requests_per_second(1, args.requests, args.delay, Path(tmp))
        eight = requests_per_second(8, args.requests, args.delay, Path(tmp))
    delay_ms = args.delay * 1000
    print(
        f"| concurrency | requests/s ({args.requests} requests, server delay {delay_ms:.0f} ms) |"
    )
    print("|---|---|")
    print(f"| 1 | {one:.2f} |")
    print(f"| 8 | {eight:.2f} |")
    print(f"\nratio 8 / 1 = {eight / one:.2f}x (target >= 6x)")


if __name__ == "__main__":
    main()
