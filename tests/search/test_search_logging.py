"""Search logging: an offline W&B run with history and no secrets; CSV; none."""

from __future__ import annotations

import csv
import time

from search_driver import toy_config

from llmpp.stages.search import run_search
from llmpp.testing.wandb_offline import read_run

SECRET = "sk-test-do-not-log-0123456789"


def test_search_wandb_offline_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    overrides = ["logger=wandb", "search=optuna_nsga2", "search.trials_per_iteration=10",
                 "search.population_size=10", "search.iterations=3",
                 "search.tracking.tags=[smoke,ci]"]
    run_search(toy_config(overrides), tmp_path)
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, "one offline W&B run in the run dir"
    path = next(runs[0].glob("run-*.wandb"))
    deadline = time.monotonic() + 30  # wandb-core flushes the file after finish() returns
    while path.read_bytes().count(b"search/best_score") < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    data = path.read_bytes()
    # Per-iteration history (3 iterations) plus the summary carry the metric keys.
    assert data.count(b"search/best_score") >= 3
    for text in (b"search/mean_score", b"search/evaluations/supernet", b"smoke", b"optuna"):
        assert text in data, text
    assert list(runs[0].glob("files/media/table/**/*.table.json")), "a W&B table of archs"
    images = runs[0] / "files" / "media" / "images" / "search"
    assert list(images.glob("pareto_*.png")), "the Pareto plot image"
    assert list(images.glob("scores_*.png")), "the score-by-iteration plot image"
    assert (tmp_path / "scores.png").is_file()
    config = read_run(path).config  # the stage's whole resolved config, not a selection
    assert config["search"]["iterations"] == 3
    assert config["search"]["tracking"]["tags"] == ["smoke", "ci"]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"secret leaked into {path}"


def test_search_csv_logger(tmp_path):
    run_search(toy_config(["logger=csv", "search=evolution"]), tmp_path)
    files = list(tmp_path.rglob("metrics.csv"))
    assert len(files) == 1
    rows = list(csv.DictReader(files[0].open()))
    iterations = [r for r in rows if r.get("search/iteration")]
    assert [int(float(r["search/iteration"])) for r in iterations] == list(range(6))
    assert all(float(r["search/evaluations/supernet"]) > 0 for r in iterations)
    assert any(r.get("search/search_seconds") for r in rows), "the summary row"


def test_search_logger_none_writes_no_logs(tmp_path):
    run_search(toy_config(["logger=none", "search=random", "search.population_size=8"]),
               tmp_path)
    assert not (tmp_path / "wandb").exists() and not list(tmp_path.rglob("metrics.csv"))
    assert (tmp_path / "search.json").is_file()
