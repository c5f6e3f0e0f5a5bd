"""``llmpp benchmark``: a predictor on the gold benchmark, the paper's protocol.

Writes ``benchmark.json`` (schema in PRODUCT.md) and one scatter plot per task into
the run dir, and prints a Markdown table.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from llmpp.config import CONF_DIR, build
from llmpp.evaluation.protocol import ProtocolConfig, evaluate_task
from llmpp.evaluation.report import markdown_table, scatter_plot
from llmpp.gold.source import GoldData
from llmpp.results import BenchmarkResult
from llmpp.stages.common import guarded, run_dir
from llmpp.task import TaskSpec, expand_tasks
from llmpp.tracking.stage_logging import log_stage
from llmpp.utils.io import write_json

log = logging.getLogger(__name__)

COST_KEYS = ("llm_calls", "cache_hits", "failures", "prompt_tokens", "completion_tokens", "usd")


def run_benchmark(cfg: DictConfig, out_dir: Path) -> BenchmarkResult:
    """Evaluate ``cfg.predictor`` on every task of ``cfg.task``; writes ``benchmark.json``."""
    started = time.perf_counter()
    gold: GoldData = build(cfg.benchmark, "benchmark")
    gold_dir = gold.gold
    source = gold.release_source()
    space = build(cfg.space, "space")
    protocol = ProtocolConfig(seeds=list(gold.seeds), gold_field=gold.gold_field, gold_dir=gold_dir)
    tasks: dict[str, Any] = {}
    cost = {key: 0 for key in COST_KEYS}
    cost["usd"] = 0.0
    predictor_name = ""
    for task_cfg in expand_tasks(cfg.task):
        task = TaskSpec.from_config(task_cfg)
        result, task_cost, predictor_name = evaluate_task(
            lambda: build(cfg.predictor, "predictor"),
            task,
            protocol,
            source=source,
            space=space,
            run_dir=str(out_dir),
        )
        tasks[task.name] = result
        for key, value in task_cost.items():
            cost[key] = cost.get(key, 0) + value
        if cfg.plots:
            scatter_plot(task.name, predictor_name, result, out_dir / f"scatter_{task.name}.png")
    first_seed = next(iter(next(iter(tasks.values()))["seeds"].values()))
    payload = {
        "predictor": predictor_name,
        "predictor_config": OmegaConf.to_container(cfg.predictor, resolve=True),
        "protocol": {
            "demos": first_seed["demos"],  # 10 and 20 on the authors' data
            "test": first_seed["test"],
            "seeds": list(protocol.seeds),
            "gold": protocol.gold_field,
            "kendall": "tau-b",
            "gold_set": str(gold_dir) if gold_dir else "authors' release",
        },
        "tasks": tasks,
        "cost": cost,
        "wall_seconds": time.perf_counter() - started,
    }
    write_json(out_dir / "benchmark.json", payload)
    _log_run(cfg, out_dir, payload)
    return BenchmarkResult.from_json(payload)


def _log_run(cfg: DictConfig, out_dir: Path, payload: dict[str, Any]) -> None:
    """MAE / tau / rho / P@5 per task (mean, std, each seed), scatter plots, benchmark.json."""
    metric_names = ("mae", "kendall", "spearman", "precision_at_5")
    rows = [[task, seed, *(row[m] for m in metric_names), row["failures"]]
            for task, result in payload["tasks"].items()
            for seed, row in result["seeds"].items()]
    log_stage(
        cfg.get("logger"), out_dir, stage="benchmark", task=str(cfg.task.name), config=cfg,
        metrics={**payload["tasks"], "cost": payload["cost"],
                 "wall_seconds": payload["wall_seconds"]},
        images={f"scatter/{task}": out_dir / f"scatter_{task}.png" for task in payload["tasks"]},
        files=[out_dir / "benchmark.json"],
        tables={"seeds": (["task", "seed", *metric_names, "failures"], rows)},
    )


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="benchmark")
@guarded
def main(cfg: DictConfig) -> None:
    out_dir = run_dir()
    payload = run_benchmark(cfg, out_dir)
    print(markdown_table(payload))
    print(f"\nwrote {out_dir / 'benchmark.json'}")


if __name__ == "__main__":  # `python -m llmpp.stages.<stage>`; DDP re-launches this way
    main()
