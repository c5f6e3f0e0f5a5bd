"""``llmpp report`` through the real CLI, the multirun callback, and the sweep presets."""

from __future__ import annotations

import csv
import json
import logging
import subprocess
from pathlib import Path

import pytest
from cli_runner import run_cli
from hydra.utils import instantiate
from omegaconf import OmegaConf
from report_payloads import benchmark_payload

from llmpp.report.cli_args import positional_dirs_to_overrides

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"


def llmpp(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return run_cli(args, cwd=cwd)


def test_positional_dirs_become_one_dirs_override():
    assert positional_dirs_to_overrides(["a/b", "plots=false", "c d,e"]) == [
        "plots=false", "dirs=['a/b','c d,e']"]
    assert positional_dirs_to_overrides(["it's"]) == ["dirs=['it\\'s']"]
    # Values of Hydra's flags and explicit overrides stay as they are.
    flags = ["--cfg", "job", "dirs=[x]"]
    assert positional_dirs_to_overrides(flags) == flags


def test_report_of_a_folder_without_outputs_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "empty").mkdir()
    done = llmpp(["report", str(tmp_path / "empty"), f"hydra.run.dir={tmp_path / 'out'}"],
                 cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert done.stderr.startswith("llmpp: error: no llmpp outputs")
    assert not (tmp_path / "out" / "report.md").exists()


def test_report_stage_writes_the_table_of_the_dirs_it_is_given(tmp_path, make_run):
    for num, name in enumerate(["linear", "ensemble"]):
        make_run(tmp_path / "runs" / f"run,{num}", "benchmark.json",
                 benchmark_payload(name, 0.25 * (num + 1), 0.7), [f"predictor={name}"])
    dirs = [str(p) for p in sorted((tmp_path / "runs").iterdir())]
    done = llmpp(["report", *dirs, f"hydra.run.dir={tmp_path / 'out'}"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "| predictor=ensemble | ensemble | wmt14_en_de | 0.500 ± 0.100 |" in done.stdout
    assert (tmp_path / "out" / "report.csv").is_file()
    assert (tmp_path / "out" / "report_benchmark.png").is_file()


def test_benchmark_multirun_ends_with_a_report_of_its_jobs(tmp_path, gold_root):
    sweep = tmp_path / "sweep"
    done = llmpp(["benchmark", "-m", "predictor=linear,mean_demos", "task=wmt14_en_de",
                  f"benchmark.root={gold_root}", f"hydra.sweep.dir={sweep}",
                  # Selecting the option a stage's defaults may already select is harmless.
                  "hydra/callbacks=report"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(sweep / "report.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["run"] for row in rows] == ["predictor=linear", "predictor=mean_demos"]
    for num, row in enumerate(rows):
        result = json.loads((sweep / str(num) / "benchmark.json").read_text())
        task = result["tasks"]["wmt14_en_de"]
        assert row["task"] == "wmt14_en_de"
        assert float(row["mae_mean"]) == task["mae"]["mean"]
        assert float(row["kendall_mean"]) == task["kendall"]["mean"]
        assert float(row["mae_std"]) == task["mae"]["std"]
    assert rows[0]["mae_mean"] != rows[1]["mae_mean"]
    assert (sweep / "report_benchmark.png").is_file()
    assert "predictor=mean_demos" in (sweep / "report.md").read_text()


def _hydra_config(sweep_dir: Path):
    return OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep_dir)}}})


def test_callback_config_builds_a_callback_that_reports_the_sweep(tmp_path, make_run, caplog):
    callback = instantiate(OmegaConf.load(CONF / "hydra" / "callbacks" / "report.yaml").report)
    sweep = tmp_path / "sweep"
    make_run(sweep / "0", "benchmark.json", benchmark_payload("linear", 1.5, 0.1), ["seed=1"])
    callback.on_multirun_end(_hydra_config(sweep))
    assert "| 0 | linear | wmt14_en_de | 1.500 ± 0.100 |" in (sweep / "report.md").read_text()
    # A sweep of a stage with nothing to compare ends with a warning, not a failed multirun.
    (tmp_path / "bare").mkdir()
    with caplog.at_level(logging.WARNING):
        callback.on_multirun_end(_hydra_config(tmp_path / "bare"))
    assert "no llmpp outputs" in caplog.text
    assert not (tmp_path / "bare" / "report.md").exists()


@pytest.mark.parametrize(("preset", "group", "keys"), [
    ("predictor_table", "experiment", ["experiment", "task"]),
    ("search_comparison", "search", ["search", "seed"]),
])
def test_sweep_presets_name_options_that_exist(preset, group, keys):
    params = OmegaConf.load(CONF / "sweep" / f"{preset}.yaml").hydra.sweeper.params
    assert sorted(params) == sorted(keys)
    options = [name.strip() for name in str(params[group]).split(",")]
    assert len(options) >= 4
    missing = [name for name in options if not (CONF / group / f"{name}.yaml").is_file()]
    assert not missing, f"{preset} sweeps options that do not exist: {missing}"


def test_report_stage_writes_into_out_when_given(tmp_path, make_run, compose):
    from llmpp.stages.report import run_report

    run = make_run(tmp_path / "run", "benchmark.json", benchmark_payload("linear", 0.5, 0.2))
    cfg = compose("report", [f"dirs=['{run}']", f"out={tmp_path / 'chosen'}", "plots=false"])
    report = run_report(cfg, tmp_path / "run_dir")
    assert report.paths["markdown"] == str(tmp_path / "chosen" / "report.md")
    assert (tmp_path / "chosen" / "report.csv").is_file()
    assert not (tmp_path / "run_dir").exists()
    assert not list((tmp_path / "chosen").glob("*.png"))
