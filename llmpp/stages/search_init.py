"""``search.init``: where a search's first population comes from (random, or the LLM).

``init.kind=llm`` asks the configured LLM for architectures under a GFLOPs budget with
the authors' generation template, shown the task's demonstrations; the valid proposals
(inside the space, under the constraint, new) seed the first population and the rest is
sampled. The proposals' counts and cost go into ``search.json`` under ``init``.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from llmpp.config import build
from llmpp.constraints import AllOf, Constraint, MaxGFLOPs
from llmpp.errors import ConfigError
from llmpp.gold.source import GoldData
from llmpp.labels.demonstrations import seed_demonstrations
from llmpp.metrics.efficiency import efficiency
from llmpp.prompts.builder import DemoItem
from llmpp.search.base import SearchAlgorithm
from llmpp.search.llm_init import LLMArchitectureProposer
from llmpp.space.search_space import SearchSpace
from llmpp.task import TaskSpec

KINDS = ("random", "llm")


def gflops_budget(init: DictConfig, constraint: Constraint | None) -> float:
    """The template's budget: ``init.gflops``, else the GFLOPs constraint's limit."""
    if init.get("gflops"):
        return float(init.gflops)
    members = constraint.constraints if isinstance(constraint, AllOf) else [constraint]
    for member in members:
        if isinstance(member, MaxGFLOPs):
            return float(member.limit)
    raise ConfigError("search init.kind=llm needs a GFLOPs budget: pass init.gflops=<GFLOPs> "
                      "or constraint=gflops constraint.limit=<GFLOPs>")


def demonstrations(gold: GoldData, task: TaskSpec, space: SearchSpace, seed: int) -> list:
    """The task's demonstrations of ``seed`` with their GFLOPs and gold BLEU."""
    demos = seed_demonstrations(task.gold_name or task.name, seed, source=gold.release_source(),
                                gold_dir=gold.gold, gold_field=gold.gold_field)
    return [DemoItem(d.arch, efficiency(d.arch, task.vocab_size, space.qkv_dim).gflops, d.score)
            for d in demos]


def seed_first_population(
    cfg: DictConfig, algorithm: SearchAlgorithm, *, task: TaskSpec, space: SearchSpace,
    constraint: Constraint | None,
) -> dict[str, Any] | None:
    """Apply ``cfg.init`` to ``algorithm``; returns what ``search.json`` records (None: random)."""
    init = cfg.get("init") or {}
    kind = str(init.get("kind", "random"))
    if kind not in KINDS:
        raise ConfigError(f"init.kind={kind!r} is unknown; choose one of: {', '.join(KINDS)}")
    if kind == "random":
        return None
    gold: GoldData = build(cfg.benchmark, "benchmark")
    proposer = LLMArchitectureProposer(
        llm=build(cfg.llm, "llm"), space=space, task=task,
        gflops_budget=gflops_budget(init, constraint), count=int(init.count),
        max_rounds=int(init.max_rounds), root=gold.root, seed=int(init.demo_seed),
    )
    proposals = proposer.propose(demonstrations(gold, task, space, int(init.demo_seed)))
    taken = algorithm.seed_population(proposals.archs)
    return {"kind": kind, "seeded": taken, **proposals.stats}
