"""benchmarks/search_hsnas.py reads what a real search run writes (its saved config layout)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from search_driver import toy_config

from llmpp.stages.search import run_search

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "search_hsnas.py"


def test_collect_reads_a_search_run_as_the_search_stage_saves_it(tmp_path):
    spec = importlib.util.spec_from_file_location("search_hsnas", BENCH)
    hsnas = importlib.util.module_from_spec(spec)
    sys.modules["search_hsnas"] = hsnas
    spec.loader.exec_module(hsnas)
    run_dir = tmp_path / "search" / "evolution_0"
    cfg = toy_config(["logger=none", "search=evolution", "search.iterations=2"])
    payload = run_search(cfg, run_dir)
    (tmp_path / "timings.json").write_text(json.dumps({"evolution_0": 12.5}))
    (tmp_path / "rescore.json").write_text(json.dumps({"evolution_0": -0.25}))
    row = hsnas.collect(tmp_path, "evolution", 0)
    assert row["process"] == 12.5 and row["rescored"] == -0.25
    assert row["loop"] == payload["wall_seconds"]["total"] > 0
    assert json.loads(row["arch"]) == payload["best"]["arch"]
    assert row["pairs"] == 0  # the toy supernet reads no validation pairs
