"""``SearchBuilder``: the one place a search is assembled, each part built once."""

from __future__ import annotations

import pytest
from search_driver import toy_config

from llmpp.config import build
from llmpp.errors import ConfigError
from llmpp.search.tracking import SearchTracker
from llmpp.stages.searching import SearchBuilder
from llmpp.task import TaskSpec
from llmpp.testing.toy import ToyPredictor


def _builder(overrides: list[str]) -> tuple[SearchBuilder, object]:
    cfg = toy_config(["logger=none", *overrides])
    return SearchBuilder(cfg, TaskSpec.from_config(cfg.task)), build(cfg.space, "space")


def test_searches_share_built_predictors_and_get_fresh_algorithms(tmp_path) -> None:
    builder, space = _builder(["search=hs_nas"])
    provided = ToyPredictor(seed=5, label="supernet")
    first = builder.session(space=space, out_dir=tmp_path / "a", tracker=SearchTracker(None),
                            provided={"supernet": provided})
    second = builder.session(space=space, out_dir=tmp_path / "b", tracker=SearchTracker(None),
                             provided={"supernet": provided})
    assert first.predictors["llm_distill"] is second.predictors["llm_distill"]  # built once
    assert first.predictors["supernet"] is provided  # the caller's own, not built
    assert first.algorithm is not second.algorithm  # an algorithm's state is its search


def test_the_prepared_algorithm_is_the_one_that_searches(tmp_path) -> None:
    """callbacks=search builds the first search before training: nothing is thrown away."""
    builder, space = _builder(["search=evolution"])
    builder.prepare(space, provided=("supernet",))
    prepared = builder._prepared
    session = builder.session(space=space, out_dir=tmp_path, tracker=SearchTracker(None),
                              provided={"supernet": ToyPredictor(seed=1, label="supernet")})
    assert session.algorithm is prepared


def test_supernet_search_callback_fails_before_training_without_a_checkpoint(tmp_path) -> None:
    from llmpp.config import compose
    from llmpp.stages.supernet import run_supernet

    cfg = compose("supernet", ["logger=none", "callbacks=search", "search=hs_nas",
                               "task.data.sizes={train:300,valid:24,test:24}"])
    with pytest.raises(ConfigError, match="distill_checkpoint"):
        run_supernet(cfg, tmp_path)
    assert not (tmp_path / "checkpoints").exists()  # refused before any training step


def test_an_unknown_init_kind_is_refused_before_building(tmp_path) -> None:
    with pytest.raises(ConfigError, match="search.init.kind='lm'"):
        _builder(["search.init.kind=lm"])
