"""``llmpp search``: HS-NAS (or another algorithm) under a constraint.

Builds the search from ``conf/search/<name>.yaml``, the predictors it names from
``predictors.<name>``, runs it resumably in the run dir and writes ``search.json``,
the best architecture's HAT YAML, the final population (and the Pareto set of
multi-objective runs); everything is logged through ``logger=`` (its own W&B run).
``llmpp search resume=<run dir>`` continues a killed run in place with its saved config.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig

from llmpp.config import CONF_DIR, build
from llmpp.search.session import SearchSession, prepare_predictors
from llmpp.search.tracking import SearchTracker
from llmpp.stages.common import guarded, run_dir
from llmpp.stages.results import SearchResult
from llmpp.stages.resume import continue_run
from llmpp.stages.search_init import seed_first_population
from llmpp.stages.searching import (
    build_constraint,
    build_search_predictors,
    hardware_name,
    logged_settings,
)
from llmpp.task import TaskSpec
from llmpp.training.loggers import build_logger
from llmpp.training.run_names import stage_run_names

log = logging.getLogger(__name__)


def run_search(cfg: DictConfig, out_dir: Path) -> SearchResult:
    """Run (or resume) the configured search in ``out_dir``; returns search.json's payload."""
    cfg, out_dir = continue_run(cfg, out_dir, "search")  # llmpp.stages.resume's policy
    task = TaskSpec.from_config(cfg.task)
    space = build(cfg.space, "space")
    constraint = build_constraint(cfg, space, task)
    algorithm = build(cfg.search, "search", space=space, constraint=constraint, seed=int(cfg.seed))
    init = seed_first_population(cfg, algorithm, task=task, space=space, constraint=constraint)
    predictors = prepare_predictors(
        build_search_predictors(cfg, algorithm.predictors()),
        task=task, space=space, seed=int(cfg.seed), run_dir=out_dir,
    )
    tracking = cfg.get("tracking") or {}
    logger = build_logger(cfg.get("logger"), out_dir, **stage_run_names("search", task.name),
                          tags=list(tracking.get("tags") or []) or None)
    session = SearchSession(
        out_dir=out_dir, algorithm=algorithm, predictors=predictors, task=task, space=space,
        constraint=constraint, hardware=hardware_name(cfg),
        tracker=SearchTracker(logger), config=logged_settings(cfg),
        table_rows=tracking.get("table_rows", 2000), progress=bool(tracking.get("progress", True)),
        extra={"init": init} if init else None,
    )
    try:
        return SearchResult.from_json(session.run())
    finally:
        session.close()


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="search")
@guarded
def main(cfg: DictConfig) -> None:
    payload = run_search(cfg, run_dir())
    best = payload["best"] or {}
    print(f"best score {best.get('score')} ({best.get('predictor')}), "
          f"{payload['wall_seconds']['total']:.1f} s; wrote {payload['run_dir']}/search.json")


if __name__ == "__main__":  # `python -m llmpp.stages.<stage>`; DDP re-launches this way
    main()
