"""Kill `llmpp run` anywhere, restart it, get what an uninterrupted run gets (issue 25).

The real CLI runs ``experiment=run_smoke`` against the fake OpenAI-compatible server and
is SIGKILLed (its main process only) at 9 instants read from its progress: a corpus
build with its worker pool up, a supernet checkpoint being written, between two steps,
inside latency, gold, label (a request in flight), distill, search and retrain, each
kill followed by a restart, until an attempt finishes. Compared with the same command
run once, uninterrupted, in a fresh artifacts directory: every step's result and the
best architecture are equal (timings and the latency step's wall-clock measurements
aside; an LLM cost block counts replies from the cache with the calls), the server was
paid for no request twice (one cut in flight by a kill is asked again: its reply never
arrived), no child outlived a kill, and no temp file, unfinished build or held lock is
left. See ``llmpp.testing.chaos``; ``benchmarks/chaos_pipeline.py`` runs more kills.
"""

from __future__ import annotations

import pytest

from llmpp.testing.chaos import STEPS, chaos_experiment

pytestmark = pytest.mark.slow
KILLS, SEED = 9, 25
BUDGET = 2400.0  # seconds for both runs: a hung attempt is killed, the test fails


def test_a_run_killed_anywhere_ends_as_an_uninterrupted_run(tmp_path) -> None:
    report = chaos_experiment(tmp_path, kills=KILLS, seed=SEED, budget=BUDGET)
    chaos, reference = report.chaos, report.reference
    per_step = report.kills_per_step
    assert len(chaos.kills) >= 8 and chaos.attempts == len(chaos.kills) + 1, report.table()
    assert all(per_step[step] for step in STEPS), per_step  # every step was hit
    assert per_step["between supernet"] == 1, chaos.missed
    assert any(kill.children for kill in chaos.kills), "the corpus build's pool was not up"
    assert not report.orphans, report.orphans
    assert not report.paid_twice, report.paid_twice
    cut = sum(len(kill.cut) for kill in chaos.kills)
    assert sum(chaos.requests.values()) == sum(reference.requests.values()) + cut
    assert set(chaos.requests) == set(reference.requests)
    assert not report.leftovers, report.leftovers
    assert not report.differences, report.differences
    assert chaos.summary["best"]["arch"] == reference.summary["best"]["arch"]
