"""``llmpp data task=<task>``: build a task's corpus ahead of training; print its statistics.

Writes ``data.json`` (one entry per task; ``task=all`` builds the three WMT tasks)
into the run dir and prints the same JSON on stdout. ``resume=<run dir>`` continues a
killed ``task=all`` build with the tasks not yet built (``llmpp.stages.resume``).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from llmpp.config import CONF_DIR
from llmpp.data.corpus import load_corpus
from llmpp.data.stats import corpus_stats
from llmpp.results import DataResult
from llmpp.stages.common import guarded, run_dir
from llmpp.stages.resume import continue_run
from llmpp.task import expand_tasks
from llmpp.utils.io import write_json

log = logging.getLogger(__name__)


def prepare(cfg: DictConfig) -> dict[str, Any]:
    """Build (or open) the corpus of every task in ``cfg.task``; their statistics by task."""
    workers = cfg.build.workers
    build = {
        "workers": int(workers) if workers else None,
        "chunk_pairs": int(cfg.build.chunk_pairs),
    }
    out: dict[str, Any] = {}
    for task in expand_tasks(cfg.task):
        started = time.perf_counter()
        corpus = load_corpus(task, **build)
        stats = corpus_stats(corpus)
        stats["prepare_seconds"] = round(time.perf_counter() - started, 3)
        out[str(task.name)] = stats
        log.info("corpus %s ready in %s", task.name, corpus.root)
    return out


def run_data(cfg: DictConfig, out_dir: Path) -> DataResult:
    """Build every task's corpus (``llmpp.stages.resume``'s policy); writes ``data.json``.

    A killed build keeps the corpora it finished (they live in the cache, keyed by their
    settings); ``resume=<run dir>`` builds the rest with the tasks that run was given.
    """
    cfg, out_dir = continue_run(cfg, out_dir, "data")
    result = prepare(cfg)
    write_json(out_dir / "data.json", result)
    return DataResult.from_json(result)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="data_stage")
@guarded
def main(cfg: DictConfig) -> None:
    print(json.dumps(run_data(cfg, run_dir()).to_json(), indent=2))


if __name__ == "__main__":  # `python -m llmpp.stages.data`
    main()
