"""``llmpp data``: builds a task's corpus ahead of training and reports its statistics."""

import json
import os
import subprocess
import sys

from cli_runner import run_cli

from llmpp.data.corpus import corpus_dir
from llmpp.stages.data import prepare

TINY = [
    "task=synthetic_en_de",
    "task.vocab_size=200",
    "task.data.sizes={train: 300, valid: 20, test: 20}",
    "build.workers=2",
]


def test_prepare_reports_the_built_corpus(compose):
    stats = prepare(compose("data_stage", TINY))["synthetic_en_de"]
    assert stats["splits"]["train"]["pairs"] == 300 and stats["splits"]["test"]["pairs"] == 20
    train = stats["splits"]["train"]
    assert train["src_tokens"] > 300 and 0 < train["src_length_percentiles"]["p50"] <= 40
    assert train["src_length_percentiles"]["p100"] >= train["src_length_percentiles"]["p90"]
    assert 0 < stats["vocab_coverage"] <= 1 and train["unk_rate"] < 0.01
    assert stats["build_workers"] == 2 and stats["token_dtype"] == "uint8"
    # one byte a token plus 8-byte offsets per sentence of ~15 tokens
    assert 1 < stats["array_bytes_per_token"] < 2 < stats["bytes_per_token"]
    again = prepare(compose("data_stage", TINY))["synthetic_en_de"]
    assert again["root"] == stats["root"] and again["build_seconds"] == stats["build_seconds"]


def test_cli_data_stage_writes_data_json(tmp_path):
    # A real process on purpose: one stage run end to end as the console script starts it.
    run = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "llmpp.cli", "data", *TINY, f"hydra.run.dir={run}"],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    written = json.loads((run / "data.json").read_text())
    assert json.loads(proc.stdout[proc.stdout.index("{") :]) == written
    assert written["synthetic_en_de"]["splits"]["valid"]["pairs"] == 20


def test_cli_data_stage_bad_override_is_exit_2(tmp_path):
    proc = run_cli(["data", "build.nope=1", f"hydra.run.dir={tmp_path}"])
    assert proc.returncode == 2 and "nope" in proc.stderr


def test_corpus_of_a_task_is_under_the_cache(compose):
    cfg = compose("data_stage", TINY)
    assert str(corpus_dir(cfg.task)).startswith(os.environ["LLMPP_CACHE_DIR"])
