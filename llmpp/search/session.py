"""One search run from a config: predictors, constraint, runner, outputs, logging.

Shared by ``llmpp search`` (predictors from checkpoints) and ``SearchCallback``
(predictors from the module being trained), so both write the same artifacts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from llmpp.constraints import bind
from llmpp.errors import ConfigError
from llmpp.predictors.base import Predictor, TaskContext
from llmpp.search.base import NoConstraint, SearchAlgorithm
from llmpp.search.memo import MemoScorer
from llmpp.search.outputs import arch_metrics, describe_constraint, search_payload, write_outputs
from llmpp.search.runner import SearchRunner
from llmpp.search.tracking import SearchTracker
from llmpp.space.search_space import SearchSpace
from llmpp.stages.common import build
from llmpp.task import TaskSpec

log = logging.getLogger(__name__)
SECRET = re.compile(r"(api[_-]?key|token|secret|password)", re.IGNORECASE)


def scrub(value: Any) -> Any:
    """Drop keys that look like credentials before a config leaves the machine."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if not SECRET.search(str(k))}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def hardware_name(cfg: DictConfig) -> str:
    hw = cfg.get("hardware", "cpu")
    if isinstance(hw, DictConfig):
        return str(hw.get("name", "hw"))
    return str(hw)


def build_search_logger(cfg: DictConfig, out_dir: Path, algorithm: str) -> Any:
    """The ``logger=`` Lightning logger, with W&B's group / job_type / tags filled in."""
    logger_cfg = cfg.get("logger")
    if logger_cfg is None or logger_cfg.get("_target_") in (None, "none"):
        return None
    extra: dict[str, Any] = {}
    if "wandb" in str(logger_cfg._target_).lower():
        tracking = cfg.get("tracking", {})
        extra = {
            "group": logger_cfg.get("group", None) or algorithm,
            "job_type": tracking.get("job_type", "search"),
            "tags": list(tracking.get("tags", []) or []),
        }
    merged = OmegaConf.merge(OmegaConf.to_container(logger_cfg, resolve=True), extra)
    return build(merged, "logger", save_dir=str(out_dir))


class SearchSession:
    """Runs one configured search in ``out_dir`` and writes its outputs."""

    def __init__(
        self,
        *,
        cfg: DictConfig,
        out_dir: Path,
        algorithm: SearchAlgorithm,
        predictors: Mapping[str, Predictor],
        task: TaskSpec,
        space: SearchSpace,
        constraint: Any,
        logger: Any = None,
    ) -> None:
        self.cfg, self.out_dir = cfg, Path(out_dir)
        self.algorithm, self.predictors = algorithm, dict(predictors)
        self.task, self.space, self.constraint = task, space, constraint
        self.tracker = SearchTracker(logger)

    @classmethod
    def from_config(
        cls,
        cfg: DictConfig,
        out_dir: Path,
        *,
        predictors: Mapping[str, Predictor] | None = None,
        logger: Any = "config",
        latency: Any = None,
    ) -> SearchSession:
        """Build every part from ``cfg`` (given ``predictors``/``logger`` win).

        ``latency`` is the hardware target's latency predictor, for ``constraint=latency``.
        """
        task = TaskSpec.from_config(cfg.task)
        space = build(cfg.space, "space")
        constraint = None
        if cfg.get("constraint"):
            constraint = bind(build(cfg.constraint, "constraint"), vocab_size=task.vocab_size,
                              qkv_dim=space.qkv_dim, latency=latency)
        algorithm = build(
            cfg.search, "search", space=space, constraint=constraint, seed=int(cfg.seed)
        )
        if predictors is None:
            predictors = {}
            for name in algorithm.predictors():
                if name not in cfg.predictors:
                    continue  # MemoScorer.require names the missing one
                if "checkpoint" in cfg.predictors[name] and not cfg.predictors[name].checkpoint:
                    key = {"supernet": "supernet_checkpoint", "llm_distill": "distill_checkpoint"}
                    raise ConfigError(
                        f"search {algorithm.name} ranks with {name} but its checkpoint is not "
                        f"set; pass {key.get(name, f'predictors.{name}.checkpoint')}=<path>"
                    )
                predictors[name] = build(cfg.predictors[name], f"predictors.{name}")
        context = TaskContext(task=task, space=space, seed=int(cfg.seed), run_dir=str(out_dir))
        for predictor in predictors.values():
            predictor.setup(context)
            predictor.fit([])
        if logger == "config":
            logger = build_search_logger(cfg, out_dir, algorithm.name)
        return cls(cfg=cfg, out_dir=out_dir, algorithm=algorithm, predictors=predictors,
                   task=task, space=space, constraint=constraint, logger=logger)

    def run(self) -> dict[str, Any]:
        """Search (resuming saved state), write outputs, log; returns search.json's payload."""
        tracking = self.cfg.get("tracking", {})
        config = scrub(OmegaConf.to_container(self.cfg, resolve=True))
        self.tracker.log_config(config)
        scorer = MemoScorer(self.predictors)
        runner = SearchRunner(
            algorithm=self.algorithm, scorer=scorer, run_dir=self.out_dir,
            loggers=[self.tracker], progress=bool(tracking.get("progress", True)),
        )
        result = runner.run(resume=True)
        constraint = self.constraint if self.constraint is not None else NoConstraint()
        metrics = (
            arch_metrics(result.best.arch, self.task.vocab_size, self.space.qkv_dim, constraint)
            if result.best is not None else {}
        )
        hardware = hardware_name(self.cfg)
        payload = search_payload(
            result, task=self.task.name, hardware=hardware,
            constraint=describe_constraint(constraint), metrics=metrics,
            extra={"space": self.space.name, "space_hash": self.space.hash()},
        )
        pareto = getattr(self.algorithm, "pareto", lambda: [])()
        metric = getattr(getattr(self.algorithm, "objective", None), "metric", "gflops")
        paths = write_outputs(self.out_dir, payload, result, hardware=hardware,
                              pareto=pareto, pareto_metric=metric)
        payload["run_dir"] = str(self.out_dir)
        self._log_results(scorer, payload, paths, tracking)
        return payload

    def _log_results(self, scorer: MemoScorer, payload: dict[str, Any],
                     paths: dict[str, Path], tracking: Any) -> None:
        names = sorted(self.predictors)
        limit = tracking.get("table_rows", 2000)
        rows = scorer.rows()[: limit if limit else None]
        table = []
        for row in rows:
            m = arch_metrics(row["arch"], self.task.vocab_size, self.space.qkv_dim, NoConstraint())
            table.append([row["key"], row["arch"].short(), *[row[n] for n in names],
                          m["gflops"], m["params"], str(row["arch"].to_hat())])
        self.tracker.log_table("scored_archs", ["key", "arch", *names, "gflops", "params",
                                                "hat"], table)
        best = payload["best"] or {}
        summary = {
            "best_score": best.get("score"),
            "best_latency_ms": best.get("latency_ms"),
            "best_gflops": best.get("gflops"),
            "best_params": best.get("params"),
            "search_seconds": payload["wall_seconds"]["total"],
            **{f"evaluations/{k}": v for k, v in payload["evaluations"]["by_predictor"].items()},
        }
        self.tracker.log_summary({k: v for k, v in summary.items() if v is not None})
        if "pareto_png" in paths:
            self.tracker.log_image("pareto", paths["pareto_png"])

    def close(self) -> None:
        self.tracker.finish()
        for predictor in self.predictors.values():
            predictor.close()
