"""``callbacks=search``: the search runs on the in-memory supernet at the end of training."""

from __future__ import annotations

import json

import numpy as np
import pytest

from llmpp.predictors.base import TaskContext
from llmpp.predictors.supernet import SupernetPredictor
from llmpp.stages.supernet import run_supernet
from llmpp.task import TaskSpec

SMALL = [
    "task.data.sizes={train:300,valid:24,test:24}",
    "trainer.max_steps=8",
    "trainer.val_check_interval=8",
    "trainer.log_every_n_steps=2",
    "data.valid_limit=24",
    "eval_archs=[largest]",
    "eval_bleu_limit=2",
    "callbacks=search",
    "callbacks.search.valid_limit=24",
    "search=evolution",
    "search.iterations=2",
    "search.population_size=6",
    "search.parents=2",
    "search.mutations=2",
    "search.crossovers=2",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from llmpp.config import compose

    out = tmp_path_factory.mktemp("supernet")
    cfg = compose("supernet", [*SMALL, "logger=csv"])
    payload = run_supernet(cfg, out)
    return cfg, out, payload


def _scores_from_checkpoint(cfg, out, archs):
    from hydra.utils import instantiate

    space = instantiate(cfg.space)
    predictor = SupernetPredictor(checkpoint=str(out / "checkpoints" / "last.ckpt"),
                                  valid_limit=24)
    predictor.setup(TaskContext(task=TaskSpec.from_config(cfg.task), space=space))
    return predictor.predict([space.from_hat(a) for a in archs])


def test_the_callback_searches_with_the_trained_weights(trained) -> None:
    cfg, out, payload = trained
    final = out / "search" / "final"
    result = json.loads((final / "search.json").read_text())
    assert result["algorithm"] == "evolution" and len(result["iterations"]) == 2
    assert payload["search"]["run_dir"] == str(final)
    assert not (final / "supernet.ckpt").exists()  # nothing written and read back
    population = json.loads((final / "population.json").read_text())
    archs = [row["arch"] for row in population]
    in_memory = np.array([row["score"] for row in population])
    from_checkpoint = _scores_from_checkpoint(cfg, out, archs)
    np.testing.assert_allclose(in_memory, from_checkpoint, rtol=1e-5, atol=1e-5)


def test_an_untrained_supernet_scores_differently(trained) -> None:
    from hydra.utils import instantiate

    from llmpp.config import build
    from llmpp.training.runner import build_module

    cfg, out, _ = trained
    population = json.loads((out / "search" / "final" / "population.json").read_text())
    space = instantiate(cfg.space)
    fresh = build_module(cfg.model, space=space, task=cfg.task, optim=build(cfg.optim, "optim"),
                         seed=int(cfg.seed))
    predictor = SupernetPredictor.from_module(fresh, valid_limit=24)
    predictor.setup(TaskContext(task=TaskSpec.from_config(cfg.task), space=space))
    untrained = predictor.predict([space.from_hat(row["arch"]) for row in population])
    trained_scores = np.array([row["score"] for row in population])
    assert np.abs(untrained - trained_scores).max() > 1e-3


def test_search_metrics_land_in_the_trainers_own_log(trained) -> None:
    _, out, _ = trained
    metrics = list(out.rglob("metrics.csv"))
    assert metrics, "the CSV logger wrote nothing"
    header = metrics[0].read_text().splitlines()[0]
    assert "search/final/best_score/supernet" in header
    assert "train/loss" in header  # the same log as the training curves
