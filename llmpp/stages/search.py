"""``llmpp search``: HS-NAS (or another algorithm) under a constraint.

The search is assembled by ``llmpp.stages.searching.SearchBuilder`` from the ``search``
node (the algorithm ``search=`` and the search's settings, ``conf/steps/search.yaml``: the
predictors it names, ``search.init``, ``search.tracking``) and the constraint
(``constraint=``); this stage runs it resumably in the
run dir and writes ``search.json``, the best architecture's HAT YAML, the final
population (and the Pareto set of multi-objective runs); everything is logged through
``logger=`` (its own W&B run).
``llmpp search resume=<run dir>`` continues a killed run in place with its saved config.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig

from llmpp.config import CONF_DIR, build
from llmpp.results import SearchResult
from llmpp.stages.common import guarded, run_dir
from llmpp.stages.resume import continue_run
from llmpp.stages.searching import SearchBuilder
from llmpp.task import TaskSpec

log = logging.getLogger(__name__)


def run_search(cfg: DictConfig, out_dir: Path) -> SearchResult:
    """Run (or resume) the configured search in ``out_dir``; returns search.json's payload."""
    cfg, out_dir = continue_run(cfg, out_dir, "search")  # llmpp.stages.resume's policy
    task = TaskSpec.from_config(cfg.task)
    builder = SearchBuilder(cfg, task)
    session = builder.session(space=build(cfg.space, "space"), out_dir=out_dir,
                              tracker=builder.tracker(out_dir))
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
