"""The ``distill`` stage end to end, and its checkpoint in ``llmpp benchmark``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_runner import run_cli

from llmpp.distill.checkpoint import DistilledModel
from llmpp.errors import ConfigError
from llmpp.stages.benchmark import run_benchmark
from llmpp.stages.distill import run_distill

QUICK = ["regressor.max_epochs=25", "regressor.patience=5", "regressor.progress_bar=false",
         "logger=none"]


def test_distill_stage_from_labels_file(compose, tmp_path, mini_space, mini_labels_file):
    cfg = compose(
        "distill", [f"labels={mini_labels_file}", "task=synthetic_en_de", "space=hat_mini", *QUICK]
    )
    report = run_distill(cfg, tmp_path)
    saved = json.loads((tmp_path / "distill.json").read_text())
    assert saved["labels"]["failures_skipped"] == 20 and saved["labels"]["used"] == 1980
    assert saved["heldout"]["kendall"] > 0.9 and saved["heldout"]["mae"] < 0.15
    assert saved["wall_seconds"] > 0 and report["checkpoint"] == str(tmp_path / "distill.ckpt")
    model = DistilledModel.load(tmp_path / "distill.ckpt", mini_space)
    assert model.payload["labels"]["sha256"] == saved["labels"]["sha256"]
    assert model.payload["train_config"]["max_epochs"] == 25
    assert model.task == "synthetic_en_de"


def test_distill_stage_refuses_wrong_task_and_no_labels(compose, tmp_path, mini_labels_file):
    cfg = compose("distill", [f"labels={mini_labels_file}", "task=wmt14_en_de", "space=hat_mini"])
    with pytest.raises(ConfigError, match="pass task=synthetic_en_de"):
        run_distill(cfg, tmp_path)
    with pytest.raises(ConfigError, match="llmpp label"):
        run_distill(compose("distill", ["space=hat_mini"]), tmp_path)


def test_distill_teacher_then_benchmark(compose, tmp_path, gold_root):
    """A linear teacher distilled on sampled archs; the student matches it on the gold test set."""
    distill_dir, bench_dir = tmp_path / "distill", tmp_path / "bench"
    cfg = compose(
        "distill",
        [
            "predictor@teacher.predictor=linear",
            "teacher.pool=sample",
            "teacher.n_archs=1000",
            "teacher.demo_seeds=[123]",
            f"benchmark.root={gold_root}",
            "regressor.features=fine",
            "regressor.max_epochs=80",
            "regressor.patience=10",
            "regressor.progress_bar=false",
        ],
    )
    report = run_distill(cfg, distill_dir)
    assert report["labels"]["model"] == {"linear[params]": 1000}
    assert (distill_dir / "labels.jsonl").is_file()
    common = [f"benchmark.root={gold_root}", "plots=false", "benchmark.seeds=[123]"]
    student = run_benchmark(
        compose(
            "benchmark",
            [
                "predictor=llm_distill",
                f"predictor.checkpoint={report['checkpoint']}",
                *common,
            ],
        ),
        bench_dir,
    )
    teacher = run_benchmark(compose("benchmark", ["predictor=linear", *common]), tmp_path / "t")
    rows = [
        student["tasks"]["wmt14_en_de"]["seeds"]["123"]["predictions"],
        teacher["tasks"]["wmt14_en_de"]["seeds"]["123"]["predictions"],
    ]
    gap = np.mean([abs(s["pred"] - t["pred"]) for s, t in zip(*rows, strict=True)])
    assert gap < 0.1, gap
    assert student["predictor"] == "llm_distill"
    assert (bench_dir / "benchmark.json").is_file()


def test_distill_cli_missing_labels_is_one_line(tmp_path):
    done = run_cli(["distill", "space=hat_mini", f"hydra.run.dir={tmp_path}"])
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "llmpp label" in done.stderr
