"""The chaos test's own checks catch what they are there to catch (fast).

``llmpp.testing.chaos`` decides whether a killed-and-restarted run ended as an
uninterrupted one; a check that cannot fail would make the slow test pass for nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from collections import Counter
from pathlib import Path

from llmpp.testing.chaos import (
    STEPS,
    Kill,
    RunRecord,
    alive,
    compare_runs,
    descendants,
    kill_plan,
    leftovers,
    paid_twice,
)


def test_leftovers_are_temp_files_unfinished_builds_and_held_locks(tmp_path) -> None:
    (tmp_path / "supernet" / "k1" / "checkpoints").mkdir(parents=True)
    (tmp_path / "supernet" / "k1" / "checkpoints" / ".last.ckpt.ab12.tmp").write_bytes(b"x")
    (tmp_path / "data" / ".build-789-42").mkdir(parents=True)
    (tmp_path / "supernet" / "k1.lock").touch()  # released: a lock file is no leftover
    held = tmp_path / "label" / "k2.lock"
    held.parent.mkdir()
    held.touch()
    with open(held) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        found = leftovers(tmp_path)
    assert len(found) == 3, found
    assert any("lock still held" in f and "k2.lock" in f for f in found)
    assert not any("k1.lock" in f for f in found)
    assert leftovers(tmp_path / "supernet" / "k1.lock") == []


def test_descendants_see_a_child_until_it_is_gone() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        mine = {pid: start for pid, start in descendants(os.getpid())}
        assert child.pid in mine and alive((child.pid, mine[child.pid]))
        assert not alive((child.pid, mine[child.pid] + 1))  # another process with its pid
    finally:
        child.kill()
        child.wait()
    assert not alive((child.pid, mine[child.pid]))


def _record(root: Path, requests: dict[str, int], cut: list[str]) -> RunRecord:
    record = RunRecord(root, root / "cache", requests=Counter(requests))
    record.kills = [Kill("label batch", "label", 1, 1.0, [], [], cut)]
    return record


def test_a_request_is_paid_twice_unless_a_kill_cut_it(tmp_path) -> None:
    reference = _record(tmp_path, {"a": 1, "b": 1}, [])
    assert paid_twice(_record(tmp_path, {"a": 2, "b": 1}, ["a"]), reference) == []
    assert len(paid_twice(_record(tmp_path, {"a": 2, "b": 1}, ["b"]), reference)) == 1
    assert len(paid_twice(_record(tmp_path, {"a": 1}, []), reference)) == 1  # b never asked


def _artifacts(root: Path, calls: int, hits: int, bleu: float, seconds: float) -> RunRecord:
    for step in STEPS:
        found = root / "artifacts" / step / "abc"
        found.mkdir(parents=True)
        doc = {"wall_seconds": seconds, "dir": str(found), "ckpt": str(found / "last.ckpt"),
               "bleu": bleu, "cost": {"llm_calls": calls, "cache_hits": hits,
                                      "prompt_tokens": 10 * calls,
                                      "cached_prompt_tokens": 10 * hits}}
        if step == "latency":
            doc |= {"archs": ["a"], "mape": seconds}  # a wall-clock measurement
        (found / "result.json").write_text(json.dumps(doc))
    record = RunRecord(root / "artifacts", root / "cache")
    record.summary = {"best": {"arch": "a", "latency_ms": seconds}}
    return record


def test_results_compare_what_was_computed_not_how_long_or_how_it_was_paid(tmp_path) -> None:
    reference = _artifacts(tmp_path / "ref", 4, 0, 25.0, 1.0)
    assert compare_runs(_artifacts(tmp_path / "resumed", 3, 1, 25.0, 9.0), reference) == []
    changed = compare_runs(_artifacts(tmp_path / "other", 3, 1, 25.5, 9.0), reference)
    assert len(changed) == len(STEPS) - 1 and all("bleu" in c for c in changed), changed
    fewer = compare_runs(_artifacts(tmp_path / "fewer", 3, 0, 25.0, 1.0), reference)
    assert fewer and all("llm_calls" in c or "prompt_tokens" in c for c in fewer), fewer


def test_every_plan_hits_every_step_and_the_instants_issue_25_names() -> None:
    for kills in (8, 9, 20):
        plan = kill_plan(kills, seed=kills)
        assert {t.step for t in plan} >= {*STEPS, "between supernet"}
        assert any("ckpt write" in t.name for t in plan)
        assert len(plan) == max(kills, 9)
    assert kill_plan(20, 1) != kill_plan(20, 2)  # the seed chooses the repeats
