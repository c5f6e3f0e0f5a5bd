"""``llmpp search`` end to end on cheap stand-in predictors."""

from __future__ import annotations

import json

import pytest
import yaml
from cli_runner import run_cli
from search_driver import toy_config

from llmpp.errors import ConfigError
from llmpp.space.architecture import Architecture
from llmpp.stages.search import run_search


def test_search_hs_nas_writes_outputs(tmp_path, mini_space):
    payload = run_search(toy_config(["logger=none", "search=hs_nas"]), tmp_path)
    saved = json.loads((tmp_path / "search.json").read_text())
    for key in ("algorithm", "task", "hardware", "seed", "constraint", "best", "iterations",
                "wall_seconds", "evaluations"):
        assert key in saved
    assert saved["algorithm"] == "hs_nas" and saved["task"] == "synthetic_en_de"
    predictors = [it["predictor"] for it in saved["iterations"]]
    assert predictors == ["llm_distill"] * 3 + ["supernet"] * 3  # switch at 0.5 of 6
    assert saved["best"]["predictor"] == "supernet"
    by_pred = saved["evaluations"]["by_predictor"]
    assert by_pred["llm_distill"] > 0 and by_pred["supernet"] > 0
    # Memo: after the switch's first iteration, parents are never re-scored.
    for it in saved["iterations"]:
        if it["iteration"] not in (0, 3):
            assert it["evaluations"] <= 16 < it["candidates"]
    best_files = list(tmp_path.glob("best_cpu_none_score-*.yaml"))
    assert len(best_files) == 1
    arch = mini_space.from_hat(yaml.safe_load(best_files[0].read_text()))
    assert arch == Architecture.from_hat(payload["best"]["arch"])
    population = json.loads((tmp_path / "population.json").read_text())
    assert population[0]["score"] == pytest.approx(saved["best"]["score"])


def test_search_switch_point_override(tmp_path):
    run_search(toy_config(["logger=none", "search.schedule.switch_at=1"]), tmp_path)
    saved = json.loads((tmp_path / "search.json").read_text())
    assert [it["predictor"] for it in saved["iterations"]][:2] == ["llm_distill", "supernet"]


def test_search_nsga2_writes_pareto(tmp_path):
    overrides = ["logger=none", "search=optuna_nsga2", "search.trials_per_iteration=10",
                 "search.population_size=10", "search.iterations=3"]
    run_search(toy_config(overrides), tmp_path)
    rows = (tmp_path / "pareto.csv").read_text().splitlines()
    assert rows[0].startswith("score,gflops") and len(rows) >= 2
    assert (tmp_path / "pareto.png").stat().st_size > 0


def test_search_missing_predictor_is_a_config_error(tmp_path):
    cfg = toy_config(["logger=none"])
    cfg.search.predictors = {"supernet": cfg.search.predictors.supernet}
    with pytest.raises(ConfigError, match="llm_distill"):
        run_search(cfg, tmp_path)


def test_search_cli_bad_resume_exits_2(tmp_path):
    proc = run_cli(["search", f"resume={tmp_path}", f"hydra.run.dir={tmp_path / 'run'}",
                    "logger=none"])
    assert proc.returncode == 2, proc.stderr
    assert "not a search run dir" in proc.stderr


def test_search_with_gflops_constraint(tmp_path):
    from llmpp.constraints import MaxGFLOPs

    cfg = toy_config(["logger=none", "search=hs_nas", "constraint=gflops",
                      "constraint.limit=0.06"])
    payload = run_search(cfg, tmp_path)
    assert payload["constraint"]["type"] == "MaxGFLOPs"
    assert payload["best"]["gflops"] <= 0.06
    limit = MaxGFLOPs(limit=0.06, vocab_size=1000, qkv_dim=128)
    population = json.loads((tmp_path / "population.json").read_text())
    assert all(limit.is_satisfied(Architecture.from_hat(p["arch"])) for p in population)
    assert list(tmp_path.glob("best_cpu_gflops-le-0.06_score-*.yaml"))


def test_search_cli_without_checkpoints_exits_2(tmp_path):
    proc = run_cli(["search", "logger=none", f"hydra.run.dir={tmp_path / 'run'}"])
    assert proc.returncode == 2, proc.stderr
    assert "search.distill_checkpoint=<path>" in proc.stderr and "Traceback" not in proc.stderr
