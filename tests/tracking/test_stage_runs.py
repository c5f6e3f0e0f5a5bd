"""Each evaluating stage leaves one offline W&B run with its key metrics and no API key."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from tracking_helpers import SECRET, assert_no_secret, wait_for_run

from llmpp.stages.benchmark import run_benchmark
from llmpp.stages.distill import run_distill
from llmpp.stages.label import run_label
from llmpp.stages.latency import run_latency
from llmpp.testing.fake_llm_server import FakeLLMServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hardware"))
from hardware_helpers import TINY_OVERRIDES  # noqa: E402

# A user who interpolates the key into the config: it must still never be logged.
LEAKY = ["+api_key=${oc.env:OPENAI_API_KEY}", "+note=key ${oc.env:OPENAI_API_KEY}"]


def has(*keys: str):
    return lambda run: set(keys) <= set(run.summary)


def test_benchmark_run_holds_metrics_plot_and_json(compose, tmp_path, gold_root):
    cfg = compose("benchmark", [f"benchmark.root={gold_root}", "logger=wandb", *LEAKY])
    payload = run_benchmark(cfg, tmp_path)
    run = wait_for_run(tmp_path, has("wmt14_en_de/mae/mean", "wmt14_en_de/kendall/std"))
    assert (run.name, run.job_type, run.group) == ("benchmark-wmt14_en_de", "benchmark", "")
    result = payload["tasks"]["wmt14_en_de"]
    assert run.summary["wmt14_en_de/mae/mean"] == pytest.approx(result["mae"]["mean"])
    for seed, row in result["seeds"].items():
        for metric in ("mae", "kendall", "spearman", "precision_at_5"):
            assert run.summary[f"wmt14_en_de/seeds/{seed}/{metric}"] == pytest.approx(row[metric])
    assert run.summary["scatter/wmt14_en_de/_type"] == "images/separated"
    assert run.summary["seeds/_type"] == "table-file" and run.summary["seeds/nrows"] == 3
    assert run.config["predictor"]["_target_"].endswith("RecordedPredictor")
    assert "api_key" not in run.config and run.config["note"] == "<redacted>"
    files = run.path.parent / "files"
    assert list(files.glob("media/images/scatter/*.png")), "the scatter plot as an image"
    assert _artifact_files(run.path, "benchmark") == {"benchmark.json"}
    assert_no_secret(tmp_path)


def test_logger_none_writes_no_run(compose, tmp_path, gold_root):
    run_benchmark(compose("benchmark", [f"benchmark.root={gold_root}", "logger=none"]), tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["benchmark.json", "scatter_wmt14_en_de.png"]


def test_label_run_holds_llm_cost(compose, tmp_path, gold_root):
    with FakeLLMServer(answer=lambda prompt: "25.5") as srv:
        cfg = compose("label", [
            "llm=openai_compatible", f"llm.base_url={srv.base_url}", "llm.model=fake",
            f"benchmark.root={gold_root}", "predictor.progress=false", "limit=6",
            "logger=wandb", *LEAKY,
        ])
        summary = run_label(cfg, tmp_path)
        assert srv.total_requests > 0, "the key was used for real requests"
    run = wait_for_run(tmp_path, has("total/llm_calls", "wmt14_en_de/cost/usd"))
    assert (run.name, run.job_type) == ("label-wmt14_en_de", "label")
    cost = summary["tasks"]["wmt14_en_de"]["cost"]
    assert run.summary["total/llm_calls"] == cost["llm_calls"] > 0
    assert run.summary["wmt14_en_de/labelled"] == 6 and run.summary["rows"] == 6
    for key in ("cache_hits", "failures", "prompt_tokens", "completion_tokens", "usd"):
        assert run.summary[f"wmt14_en_de/cost/{key}"] == cost[key]
    assert _artifact_files(run.path, "label") == {"label.json", "labels.jsonl"}
    assert_no_secret(tmp_path)


def test_distill_run_holds_fit_to_teacher(compose, tmp_path, gold_root):
    cfg = compose("distill", [
        "predictor@teacher.predictor=linear", "teacher.pool=sample", "teacher.n_archs=60",
        "teacher.demo_seeds=[123]", f"benchmark.root={gold_root}", "regressor.max_epochs=3",
        "regressor.progress_bar=false", "logger=wandb",
    ])
    report = run_distill(cfg, tmp_path)
    run = wait_for_run(tmp_path, has("heldout/mae", "throughput/labels_per_second"))
    assert (run.name, run.job_type) == ("distill-wmt14_en_de", "distill")
    assert run.summary["heldout/mae"] == pytest.approx(report["heldout"]["mae"])
    assert run.summary["heldout/kendall"] == pytest.approx(report["heldout"]["kendall"])
    assert run.summary["epochs"] == report["epochs"] and run.summary["labels/used"] == 60
    assert run.summary["throughput/labels_per_second"] > 0
    assert _artifact_files(run.path, "distill") == {"distill.json"}
    assert_no_secret(tmp_path)


def test_latency_run_holds_mape_tau_retest_spread(compose, tmp_path):
    cfg = compose("latency", [*TINY_OVERRIDES, "n_archs=8", "test_fraction=0.25", "retest=2",
                              "fit.model=linear", "hardware.threads=1", "logger=wandb"])
    payload = run_latency(cfg, tmp_path)
    run = wait_for_run(tmp_path, has("test/mape", "retest/mape"))
    assert (run.name, run.job_type) == ("latency-synthetic_en_de", "latency")
    assert run.summary["test/mape"] == pytest.approx(payload["test"]["mape"])
    assert run.summary["test/kendall_tau"] == pytest.approx(payload["test"]["kendall_tau"])
    assert run.summary["retest/mape"] == pytest.approx(payload["retest"]["mape"])
    spread = payload["spread"]["iqr_over_median"]["median"]
    assert run.summary["spread/iqr_over_median/median"] == pytest.approx(spread)
    assert run.config["measure"]["repeats"] == 2
    assert _artifact_files(run.path, "latency") == {"latency.json"}
    assert_no_secret(tmp_path)


def _artifact_files(run_file: Path, kind: str) -> set[str]:
    """Names of the files the run's artifacts of type ``kind`` hold (from their manifests)."""
    from llmpp.testing.wandb_offline import records

    names: set[str] = set()
    for record in records(run_file):
        if record.WhichOneof("record_type") == "artifact" and record.artifact.type == kind:
            names.update(entry.path for entry in record.artifact.manifest.contents)
    return names


def test_secret_check_catches_a_leak(tmp_path):
    """The leak check itself can fail (the stage tests would be vacuous otherwise)."""
    (tmp_path / "config.json").write_text(json.dumps({"key": SECRET}))
    with pytest.raises(AssertionError, match="leaked"):
        assert_no_secret(tmp_path)
