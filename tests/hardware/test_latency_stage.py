"""``llmpp latency`` end to end on a tiny budget, and its resume."""

from __future__ import annotations

import json

import pytest
from cli_runner import run_cli
from hardware_helpers import TINY_OVERRIDES

from llmpp.errors import ConfigError
from llmpp.hardware.artifact import LatencyPredictor
from llmpp.hardware.dataset import LatencyDataset
from llmpp.stages.latency import run_latency

SMALL = [*TINY_OVERRIDES, "n_archs=12", "test_fraction=0.25", "chunk=5",
         "retest=2", "fit.model=linear", "hardware.threads=1"]


def test_latency_stage_measures_fits_and_saves(compose, tmp_path, mini_space):
    payload = run_latency(compose("latency", SMALL), tmp_path)
    rows = (tmp_path / "latency.csv").read_text().splitlines()
    assert rows[0].startswith("key,latency_ms,encoder_ms,decoder_ms") and len(rows) == 13
    saved = json.loads((tmp_path / "latency.json").read_text())
    assert saved["counts"] == {"archs": 12, "measured_now": 12, "reused": 0}
    assert saved["training"]["train"] == 9 and saved["training"]["test"] == 3
    assert saved["hardware"]["threads"] == 1 and saved["hardware"]["name"] == "cpu"
    assert saved["hardware"]["cpu_model"] and saved["hardware"]["torch"]
    assert saved["measurement"]["beam"] == 2 and saved["measurement"]["repeats"] == 2
    assert saved["test"]["mape"] >= 0 and -1 <= saved["test"]["kendall_tau"] <= 1
    assert saved["retest"]["archs"] == 2 and saved["retest"]["mape"] >= 0
    assert saved["spread"]["max_over_min"]["median"] >= 1
    predictor = LatencyPredictor.load(payload["artifact"], space=mini_space)
    assert predictor.payload["training"]["chosen"] == "linear"
    assert predictor.predict([mini_space.smallest()]).shape == (1,)


def test_latency_stage_resumes_without_remeasuring(compose, tmp_path):
    first = run_latency(compose("latency", SMALL), tmp_path)
    csv = tmp_path / "latency.csv"
    lines = csv.read_text().splitlines()
    # A kill mid-write: the last two rows are lost and a third is cut short.
    csv.write_text("\n".join(lines[:-3]) + "\n" + lines[-3][:20])
    kept = {line.split(",")[0]: line for line in lines[1:-3]}
    second = run_latency(compose("latency", [f"resume={tmp_path}"]), tmp_path / "ignored")
    assert second["counts"] == {"archs": 12, "measured_now": 3, "reused": 9}
    after = csv.read_text().splitlines()
    assert len(after) == 13
    for line in after[1:]:  # rows measured before the kill are byte-identical
        key = line.split(",")[0]
        assert key not in kept or kept[key] == line
    assert len(LatencyDataset(csv)) == 12
    assert second["artifact"] == first["artifact"]
    third = run_latency(compose("latency", [f"resume={tmp_path}"]), tmp_path)
    assert third["counts"]["measured_now"] == 0


def test_latency_stage_bad_resume_is_config_error(compose, tmp_path):
    with pytest.raises(ConfigError, match="not a latency run dir"):
        run_latency(compose("latency", [f"resume={tmp_path}"]), tmp_path)


def test_latency_cli_exit_code_2_on_bad_resume(tmp_path):
    proc = run_cli(["latency", f"resume={tmp_path}", f"hydra.run.dir={tmp_path / 'run'}"])
    assert proc.returncode == 2, proc.stderr
    assert "not a latency run dir" in proc.stderr and "Traceback" not in proc.stderr


def test_latency_stage_refuses_to_mix_protocols_in_one_dir(compose, tmp_path):
    run_latency(compose("latency", SMALL), tmp_path)
    with pytest.raises(ConfigError, match="other settings"):
        run_latency(compose("latency", [*SMALL, "measure.beam=1"]), tmp_path)
