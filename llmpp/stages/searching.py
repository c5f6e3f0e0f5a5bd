"""The one place a search is assembled from a stage's config.

``llmpp search``, the pipeline's search step (which runs ``llmpp search``'s function)
and ``llmpp supernet callbacks=search`` all get their searches from ``SearchBuilder``.
The ``search`` node holds the algorithm's keys (``search=hs_nas``, ``search.iterations``)
and the search's own settings (``SearchSettings``: ``search.predictors.<name>`` and their
checkpoints, the first population ``search.init``, ``search.tracking``), split here by
the schema; the constraint (``constraint=``) is bound to the task and space. The library
below receives the built objects (``llmpp.search.session.SearchSession``), never a config.

Each part is built once: the constraint per space, each predictor the first time an
algorithm names it; only the algorithm is new per search (its state is the search).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, open_dict

from llmpp.config import build
from llmpp.config_schema import InitSettings, SearchSettings
from llmpp.constraints import AllOf, Constraint, MaxGFLOPs, bind
from llmpp.errors import ConfigError
from llmpp.predictors.base import Predictor
from llmpp.search.base import SearchAlgorithm
from llmpp.search.session import SearchSession, prepare_predictors
from llmpp.search.tracking import SearchTracker
from llmpp.space.search_space import SearchSpace
from llmpp.task import TaskSpec
from llmpp.tracking.stage_logging import loggable_config

# The settings that name a predictor's checkpoint (the error says which to pass).
CHECKPOINT_KEYS = {"supernet": "supernet_checkpoint", "llm_distill": "distill_checkpoint"}
# The first population's kinds: the schema's (a run's step config is checked again here).
INIT_KINDS = next(f for f in dataclasses.fields(InitSettings)
                  if f.name == "kind").metadata["choices"]
# The search's own keys in the ``search`` node; the others are the algorithm's.
STEP_KEYS = frozenset(f.name for f in dataclasses.fields(SearchSettings))


def algorithm_config(node: DictConfig) -> DictConfig:
    """The algorithm's block of a ``search`` node (its step settings left out); a copy
    under the same parent, so its interpolations resolve as in the node."""
    block = node.copy()
    with open_dict(block):
        for key in STEP_KEYS & set(block):
            block.pop(key)
    return block


def latency_predictor(cfg: DictConfig, space: SearchSpace, task: TaskSpec) -> Any:
    """The hardware target's latency predictor, or None when none is configured.

    A target with an artifact path loads it; a target HAT measured builds its predictor
    from HAT's release without one.
    """
    hardware = cfg.get("hardware")
    if not isinstance(hardware, DictConfig):
        return None
    if not hardware.get("latency_predictor") and not hardware.get("dataset_device"):
        return None
    return build(hardware, "hardware").load_latency_predictor(space, task)


class SearchBuilder:
    """Builds searches from a stage's config: its ``search`` node (the algorithm and the
    ``SearchSettings``), ``constraint``, ``hardware``, seed.

    Args:
        cfg: the stage's config (``llmpp search``, ``llmpp supernet`` or a run's step).
        task: its task.
    """

    def __init__(self, cfg: DictConfig, task: TaskSpec) -> None:
        self.cfg, self.settings = cfg, cfg.search
        if str(self.settings.init.kind) not in INIT_KINDS:
            raise ConfigError(f"search.init.kind={self.settings.init.kind!r} is unknown; "
                              f"choose one of: {', '.join(INIT_KINDS)}")
        self.task, self.seed = task, int(cfg.seed)
        self._constraints: dict[str, Constraint | None] = {}
        self._predictors: dict[str, Predictor] = {}
        self._ready: set[str] = set()  # built predictors already set up
        self._prepared: SearchAlgorithm | None = None  # built by prepare, used by a search

    @property
    def hardware(self) -> str:
        """The hardware target's name (file names, search.json)."""
        hardware = self.cfg.get("hardware")
        return str(hardware.name) if isinstance(hardware, DictConfig) else "cpu"

    def constraint(self, space: SearchSpace) -> Constraint | None:
        """``constraint=`` bound to the task's vocabulary, the space and the latency model."""
        key = space.hash()
        if key not in self._constraints:
            node = self.cfg.get("constraint")
            self._constraints[key] = None if not node else bind(
                build(node, "constraint"), vocab_size=self.task.vocab_size,
                qkv_dim=space.qkv_dim, latency=latency_predictor(self.cfg, space, self.task))
        return self._constraints[key]

    def algorithm(self, space: SearchSpace) -> SearchAlgorithm:
        """A fresh algorithm (``search=``) for ``space`` under the constraint."""
        return build(algorithm_config(self.settings), "search", space=space,
                     constraint=self.constraint(space), seed=self.seed)

    def prepare(self, space: SearchSpace, *, provided: tuple[str, ...] = ()) -> None:
        """Build the first search's algorithm, its constraint and its predictors now, so a
        missing checkpoint fails before training rather than after it (callbacks=search).

        Args:
            space: the search space.
            provided: predictor names the caller will provide to ``session``.
        """
        self._prepared = self.algorithm(space)
        self.predictors([n for n in self._prepared.predictors() if n not in provided], {})

    def predictors(self, names: list[str], provided: Mapping[str, Predictor]
                   ) -> dict[str, Predictor]:
        """The predictors ``names`` asks for: ``provided`` ones, else built once from
        ``search.predictors.<name>`` (a name configured nowhere is left to the scorer)."""
        configured = self.settings.predictors or {}
        out: dict[str, Predictor] = {}
        for name in names:
            if name in provided:
                out[name] = provided[name]
            elif name in self._predictors:
                out[name] = self._predictors[name]
            elif name in configured:
                node = configured[name]
                if "checkpoint" in node and not node.checkpoint:
                    key = CHECKPOINT_KEYS.get(name, f"predictors.{name}.checkpoint")
                    raise ConfigError(f"the search ranks with {name} but its checkpoint is "
                                      f"not set; pass search.{key}=<path>")
                out[name] = self._predictors[name] = build(node, f"search.predictors.{name}")
        return out

    def session(self, *, space: SearchSpace, out_dir: Path, tracker: SearchTracker,
                provided: Mapping[str, Predictor] | None = None,
                progress: bool | None = None) -> SearchSession:
        """One search, ready to run in ``out_dir``.

        Args:
            space: the search space (the supernet's own, under ``callbacks=search``).
            out_dir: the search's directory.
            tracker: where its metrics go.
            provided: predictors the caller already holds (the in-memory supernet).
            progress: show progress (None: ``search.tracking.progress``).
        """
        algorithm, self._prepared = self._prepared, None
        if algorithm is None or algorithm.space.hash() != space.hash():
            algorithm = self.algorithm(space)
        init = self.first_population(algorithm, space)
        fresh = dict(provided or {})
        predictors = self.predictors(list(algorithm.predictors()), fresh)
        # Set up for this search's task, space and directory; a cached predictor is set
        # up once, a provided one (new weights each time) every time.
        prepare_predictors({n: p for n, p in predictors.items()
                            if n in fresh or n not in self._ready},
                           task=self.task, space=space, seed=self.seed, run_dir=out_dir)
        self._ready.update(n for n in predictors if n not in fresh)
        tracking = self.settings.tracking
        return SearchSession(
            out_dir=out_dir, algorithm=algorithm, predictors=predictors, task=self.task,
            space=space, constraint=self.constraint(space), hardware=self.hardware,
            tracker=tracker, config=self.logged_settings(),
            table_rows=None if tracking.table_rows is None else int(tracking.table_rows),
            progress=bool(tracking.progress if progress is None else progress),
            extra={"init": init} if init else None,
        )

    def tracker(self, out_dir: Path) -> SearchTracker:
        """The stage's own logger (``logger=``, tagged ``search.tracking.tags``) as a tracker."""
        from llmpp.tracking.loggers import build_logger
        from llmpp.tracking.run_names import stage_run_names

        tags = list(self.settings.tracking.tags) or None
        logger = build_logger(self.cfg.get("logger"), out_dir,
                              **stage_run_names("search", self.task.name), tags=tags)
        return SearchTracker(logger)

    def first_population(self, algorithm: SearchAlgorithm, space: SearchSpace
                         ) -> dict[str, Any] | None:
        """Apply ``search.init`` to ``algorithm``; what ``search.json`` records (None: random)."""
        init = self.settings.init
        if str(init.kind) == "random":
            return None
        from llmpp.search.llm_init import LLMArchitectureProposer, demonstrations

        if not self.cfg.get("llm") or not self.cfg.get("benchmark"):
            raise ConfigError("search.init.kind=llm needs an llm and the gold data's benchmark "
                              "config; use `llmpp search` or `llmpp run`, or pass "
                              "search.init.kind=random")
        gold = build(self.cfg.benchmark, "benchmark")
        proposer = LLMArchitectureProposer(
            llm=build(self.cfg.llm, "llm"), space=space, task=self.task,
            gflops_budget=gflops_budget(init, self.constraint(space)), count=int(init.count),
            max_rounds=int(init.max_rounds), root=gold.root, seed=int(init.demo_seed),
        )
        proposals = proposer.propose(demonstrations(gold, self.task, space, int(init.demo_seed)))
        taken = algorithm.seed_population(proposals.archs)
        return {"kind": str(init.kind), "seeded": taken, **proposals.stats}

    def logged_settings(self) -> dict[str, Any]:
        """The search's whole resolved config, credentials removed (its W&B run's config)."""
        return loggable_config(self.cfg)


def gflops_budget(init: DictConfig, constraint: Constraint | None) -> float:
    """The template's budget: ``search.init.gflops``, else the GFLOPs constraint's limit."""
    if init.gflops:
        return float(init.gflops)
    members = constraint.constraints if isinstance(constraint, AllOf) else [constraint]
    for member in members:
        if isinstance(member, MaxGFLOPs):
            return float(member.limit)
    raise ConfigError("search.init.kind=llm needs a GFLOPs budget: pass "
                      "search.init.gflops=<GFLOPs> or constraint=gflops constraint.limit=<GFLOPs>")
