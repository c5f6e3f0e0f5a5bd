"""Optuna 5 driven directly: TPE, or NSGA-II for score vs efficiency, ask/tell style.

Every gene position of the space is one categorical parameter. A proposal that
violates the constraint is told to Optuna as infeasible (``Trial.set_constraint``)
without being scored, and another is drawn, up to a retry
cap. Duplicates are answered from the search's own record. The study is rebuilt
from plain trial records on ``load_state_dict`` and the sampler is reseeded from
(seed, iteration) every iteration, so a resumed search continues identically.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from llmpp.constraints import Constraint
from llmpp.errors import ConfigError
from llmpp.metrics import efficiency
from llmpp.search.base import Scored, SearchAlgorithm, arch_from_dict, top_k
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace

log = logging.getLogger(__name__)
optuna.logging.set_verbosity(optuna.logging.WARNING)


class EfficiencyObjective:
    """The second objective of a multi-objective search (lower is better).

    Args:
        metric: ``gflops`` or ``params`` (without embeddings).
        vocab_size: the task's vocabulary (GFLOPs include the output projection).
    """

    def __init__(self, *, metric: str = "gflops", vocab_size: int = 1000) -> None:
        if metric not in ("gflops", "params"):
            raise ConfigError(f"search.objective.metric={metric!r} is unknown; use gflops|params")
        self.metric, self.vocab_size = metric, int(vocab_size)

    def __call__(self, arch: Architecture, space: SearchSpace) -> float:
        eff = efficiency(arch, self.vocab_size, space.qkv_dim)
        if self.metric == "gflops":
            return eff.gflops
        return float(eff.num_parameters_without_embedding_weights)


class OptunaSearch(SearchAlgorithm):
    """Optuna's TPE (single objective) or NSGA-II (score up, efficiency down).

    Args:
        space, constraint, seed, iterations, predictor: see ``SearchAlgorithm``.
        sampler: ``tpe`` or ``nsga2``.
        trials_per_iteration: proposals scored per iteration (one predictor batch).
        objective: the second objective; required by and only used with ``nsga2``.
        population_size: NSGA-II's population.
        n_startup_trials: TPE's random start.
        warm_start_predictor: name of a predictor whose top architectures of a
            random pool are enqueued first (e.g. ``llm_distill``, ``llm_pp``).
        warm_start_top, warm_start_pool: how many to enqueue, out of how many.
        max_tries: proposals drawn per wanted architecture before giving up.
    """

    name = "optuna"

    def __init__(
        self,
        *,
        space: SearchSpace,
        constraint: Constraint | None = None,
        seed: int = 0,
        iterations: int = 30,
        predictor: str = "supernet",
        sampler: str = "tpe",
        trials_per_iteration: int = 100,
        objective: EfficiencyObjective | None = None,
        population_size: int = 50,
        n_startup_trials: int = 10,
        warm_start_predictor: str | None = None,
        warm_start_top: int = 10,
        warm_start_pool: int = 500,
        max_tries: int = 50,
    ) -> None:
        super().__init__(
            space=space,
            constraint=constraint,
            seed=seed,
            iterations=iterations,
            predictor=predictor,
        )
        if sampler not in ("tpe", "nsga2"):
            raise ConfigError(f"search.sampler={sampler!r} is unknown; use tpe or nsga2")
        if sampler == "nsga2" and objective is None:
            raise ConfigError("search.sampler=nsga2 needs search.objective (gflops or params)")
        self.sampler_kind = sampler
        self.objective = objective if sampler == "nsga2" else None
        self.trials_per_iteration = int(trials_per_iteration)
        self.population_size = int(population_size)
        self.n_startup_trials = int(n_startup_trials)
        self.warm_start_predictor = warm_start_predictor
        self.warm_start_top, self.warm_start_pool = int(warm_start_top), int(warm_start_pool)
        self.max_tries = int(max_tries)
        self.genes = space._gene_choices()
        self.distributions = {
            f"g{i:02d}": CategoricalDistribution(list(c)) for i, c in enumerate(self.genes)
        }
        self.records: list[dict[str, Any]] = []  # every finished trial, in order
        self.scores: dict[str, Scored] = {}  # arch key -> scored
        self.queue: list[Architecture] = []  # warm-start architectures to enqueue
        self.warmed = warm_start_predictor is None
        self.pending: list[tuple[int, Architecture]] | None = None
        self.study = self._new_study()

    # ---- study ----------------------------------------------------------------------
    @property
    def directions(self) -> list[str]:
        return ["maximize", "minimize"] if self.objective is not None else ["maximize"]

    def _sampler(self) -> optuna.samplers.BaseSampler:
        # Reseeded every iteration: the sampler's RNG is not part of the saved state.
        # Infeasible proposals carry Trial.set_constraint values (Optuna 5's way).
        seed = int(np.random.SeedSequence([self.seed, self.iteration]).generate_state(1)[0])
        if self.sampler_kind == "nsga2":
            return optuna.samplers.NSGAIISampler(population_size=self.population_size, seed=seed)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.n_startup_trials)

    def _new_study(self) -> optuna.Study:
        return optuna.create_study(directions=self.directions, sampler=self._sampler())

    def _params(self, arch: Architecture) -> dict[str, int]:
        return {f"g{i:02d}": int(v) for i, v in enumerate(self.space.to_gene(arch))}

    def _values(self, scored: Scored) -> list[float]:
        score = scored.score if np.isfinite(scored.score) else -1e9
        if self.objective is None:
            return [score]
        return [score, self.objective(scored.arch, self.space)]

    def _finish(self, trial: optuna.Trial | int, values: list[float], violation: float) -> None:
        if isinstance(trial, optuna.Trial):
            trial.set_constraint("violation", violation)
        frozen = self.study.tell(trial, values)
        self.records.append(
            {
                "params": frozen.params,
                "values": list(values),
                "user_attrs": dict(frozen.user_attrs),
                "system_attrs": dict(frozen.system_attrs),
            }
        )

    # ---- warm start -----------------------------------------------------------------
    def warm_start(self, score: Callable[[str, list[Architecture]], np.ndarray]) -> None:
        """Enqueue the top of a random pool as ranked by ``warm_start_predictor``."""
        if self.warmed:
            return
        pool = []
        seen: set[str] = set()
        for _ in range(self.warm_start_pool * self.max_tries):
            if len(pool) >= self.warm_start_pool:
                break
            arch = self.space.sample(self.rng)
            if arch.key() not in seen and self.constraint.is_satisfied(arch):
                seen.add(arch.key())
                pool.append(arch)
        values = score(str(self.warm_start_predictor), pool) if pool else np.zeros(0)
        ranked = top_k([Scored(a, float(v)) for a, v in zip(pool, values, strict=True)], len(pool))
        self.queue = [s.arch for s in ranked[: self.warm_start_top]]
        self.warmed = True

    def predictors(self) -> list[str]:
        extra = [self.warm_start_predictor] if self.warm_start_predictor else []
        return [self.default_predictor, *[p for p in extra if p != self.default_predictor]]

    # ---- ask / tell -----------------------------------------------------------------
    def ask(self) -> list[Architecture]:
        if self.pending is None:
            self.pending = self._propose()
        return [arch for _, arch in self.pending]

    def _propose(self) -> list[tuple[int, Architecture]]:
        self.study.sampler = self._sampler()
        out: list[tuple[int, Architecture]] = []
        keys: set[str] = set()
        for _ in range(self.trials_per_iteration * self.max_tries):
            if len(out) >= self.trials_per_iteration:
                break
            if self.queue:
                self.study.enqueue_trial(self._params(self.queue.pop(0)))
            trial = self.study.ask(self.distributions)
            gene = [trial.params[name] for name in self.distributions]
            arch = self.space.from_gene(gene)
            key = arch.key()
            if not self.constraint.is_satisfied(arch):
                worst = [-1e9] + ([1e9] if self.objective is not None else [])
                self._finish(trial, worst, max(1e-9, self.constraint.violation(arch)))
            elif key in self.scores:
                self._finish(trial, self._values(self.scores[key]), 0.0)
            elif key in keys:
                self.study.tell(trial, state=TrialState.FAIL)
                self.records.append({"failed": True})
            else:
                keys.add(key)
                trial.set_constraint("violation", 0.0)
                out.append((trial.number, arch))
        if len(out) < self.trials_per_iteration:
            log.warning(
                "optuna proposed %d of %d new feasible architectures",
                len(out),
                self.trials_per_iteration,
            )
        return out

    def _tell(self, scored: list[Scored]) -> None:
        assert self.pending is not None, "tell before ask"
        for (number, _), item in zip(self.pending, scored, strict=True):
            self.scores[item.arch.key()] = item
            self._finish(number, self._values(item), 0.0)
        self._update_best(scored, self.predictor())
        self.pending = None

    # ---- state ----------------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "scores": [s.as_dict() for s in self.scores.values()],
            "queue": [a.as_dict() for a in self.queue],
            "warmed": self.warmed,
            "pending": None if self.pending is None else [a.as_dict() for _, a in self.pending],
        }

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.records = list(state["records"])
        self.scores = {}
        for item in state["scores"]:
            scored = Scored.from_dict(item)
            self.scores[scored.arch.key()] = scored
        self.queue = [arch_from_dict(a) for a in state["queue"]]
        self.warmed = bool(state["warmed"])
        self.study = self._new_study()
        self.study.add_trials([self._frozen(r) for r in self.records])
        self.pending = None
        if state.get("pending") is not None:
            # Re-open the in-flight proposals as running trials (numbers may differ).
            self.pending = []
            for data in state["pending"]:
                arch = arch_from_dict(data)
                self.study.enqueue_trial(self._params(arch))
                trial = self.study.ask(self.distributions)
                trial.set_constraint("violation", 0.0)
                self.pending.append((trial.number, arch))

    def _frozen(self, record: dict[str, Any]) -> optuna.trial.FrozenTrial:
        if record.get("failed"):
            return optuna.trial.create_trial(state=TrialState.FAIL)
        return optuna.trial.create_trial(
            values=record["values"],
            params=record["params"],
            distributions=self.distributions,
            user_attrs=record["user_attrs"],
            system_attrs=record["system_attrs"],
        )

    def describe(self) -> dict[str, Any]:
        return {"sampler": self.sampler_kind, "trials": len(self.records)}

    def pareto(self) -> list[dict[str, Any]]:
        """The feasible non-dominated (score, efficiency) points (multi-objective only)."""
        if self.objective is None:
            return []
        points = [(s, self.objective(s.arch, self.space)) for s in self.scores.values()]
        points = [(s, e) for s, e in points if np.isfinite(s.score)]
        front = []
        for s, e in points:
            dominated = any(
                (o.score >= s.score and oe <= e) and (o.score > s.score or oe < e)
                for o, oe in points
            )
            if not dominated:
                front.append({"arch": s.arch, "score": s.score, self.objective.metric: e})
        return sorted(front, key=lambda p: p[self.objective.metric])

    def pareto_metric(self) -> str:
        return self.objective.metric if self.objective is not None else super().pareto_metric()
