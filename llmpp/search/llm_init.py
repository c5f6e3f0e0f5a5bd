"""Architectures proposed by an LLM, to seed a search's first population.

The paper's other use of the LLM: it is shown the authors' generation template
(``instruction_templates/<task>/default_flops``: role, instructions, task examples,
the demonstrations with GFLOPs and BLEU) and asked for ``count`` architectures of a
given GFLOPs budget with a higher BLEU. llmpp reads every ``<hat-key>: <value>``
block of the reply as one architecture and keeps those that are complete, inside
the search space, within the budget and new; the rest are counted by reason. When
too few survive, the question is asked again as a fresh sample (at most
``max_rounds`` in all). Replies go through ``LLMRunner``: cached before use (a rerun
pays for nothing twice), retried, re-asked when a reply holds no block, costed.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llmpp.errors import ConfigError, InvalidArchitectureError
from llmpp.gold.source import GoldData, GoldSource
from llmpp.labels.demonstrations import seed_demonstrations
from llmpp.llm.backends import Backend
from llmpp.llm.cache import ReplyCache
from llmpp.llm.client import LLMRunner
from llmpp.llm.cost import CostMeter
from llmpp.metrics.efficiency import efficiency
from llmpp.prompts.authors import SEEDARCH_EXAMPLES, TASK_EXAMPLES, AuthorsPromptBuilder
from llmpp.prompts.builder import DemoItem, format_demo
from llmpp.prompts.task_sampling import format_examples
from llmpp.space.architecture import HAT_KEYS, Architecture
from llmpp.space.search_space import SearchSpace
from llmpp.task import TaskSpec

log = logging.getLogger(__name__)
TEMPLATE = "default_flops"
CONSTRAINT = "$$$constraint_value$$$"
HOW_MANY = "$$$num_arch_to_generate$$$"
FIRST_KEY = next(iter(HAT_KEYS.values()))
_LINE = re.compile(r"^[\s'\"*\-]*([a-z][a-z-]+-subtransformer)['\"*]*\s*[:=]\s*(.+?)\s*,?\s*$")
# Why a proposal is dropped, checked in this order.
REASONS = ("incomplete", "outside_space", "duplicate", "over_budget")


@dataclass
class Proposals:
    """The valid architectures (in reply order) and how the rest were lost."""

    archs: list[Architecture]
    stats: dict[str, Any] = field(default_factory=dict)


def parse_blocks(text: str | None) -> list[dict[str, str]]:
    """Every run of ``<hat-key>: <value>`` lines; a new block starts at the first key."""
    blocks: list[dict[str, str]] = []
    for line in (text or "").splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        key, value = match.groups()
        if key == FIRST_KEY or not blocks or key in blocks[-1]:
            blocks.append({})
        blocks[-1][key] = value
    return blocks


class LLMArchitectureProposer:
    """Ask an LLM for architectures under a GFLOPs budget with the authors' template.

    Args:
        llm: the backend (any ``conf/llm`` option).
        space: the search space every proposal must lie in.
        task: the task (its ``gold_name`` selects the template, its vocabulary the GFLOPs).
        gflops_budget: the budget put in the template and enforced on proposals.
        count: architectures asked for per round.
        max_rounds: rounds at most (a round = one fresh sample of the same prompt).
        budget_tolerance: relative slack over the budget (0 = at most the budget).
        prompt: fills the template's task examples (an ``AuthorsPromptBuilder``).
        root: local copy of the authors' ``data/`` (None = cache/download).
        cache: reply cache path (None = the user cache).
        seed: protocol seed of the task-example draw.
        max_tokens: reply length limit (ten architectures need about 1,500 tokens).
    """

    def __init__(
        self,
        *,
        llm: Backend,
        space: SearchSpace,
        task: TaskSpec,
        gflops_budget: float,
        count: int = 10,
        max_rounds: int = 3,
        budget_tolerance: float = 0.0,
        prompt: AuthorsPromptBuilder | None = None,
        root: str | None = None,
        cache: str | None = None,
        seed: int = 123,
        max_tokens: int = 2048,
    ) -> None:
        if count < 1 or max_rounds < 1 or gflops_budget <= 0:
            raise ConfigError("search.init needs count >= 1, max_rounds >= 1, gflops > 0")
        if not task.gold_name:
            raise ConfigError(
                f"search.init.kind=llm uses the authors' generation template, which exists only "
                f"for the paper's WMT tasks; task {task.name} has none "
                "(use search.init.kind=random)"
            )
        self.llm, self.space, self.task = llm, space, task
        self.budget, self.count, self.max_rounds = float(gflops_budget), count, max_rounds
        self.tolerance = float(budget_tolerance)
        self.prompt = prompt or AuthorsPromptBuilder(root=root, task_examples=0)
        self.root, self.cache_path, self.seed = root, cache, seed
        self.max_tokens = int(max_tokens)
        self.meter = CostMeter(prices=llm.prices)

    def build_prompt(self, demos: Sequence[DemoItem]) -> str:
        """The authors' generation template with every placeholder filled."""
        path = GoldSource(self.root).path(f"instruction_templates/{self.task.gold_name}/{TEMPLATE}")
        text = path.read_text(encoding="utf-8")
        examples = ""
        if self.prompt.task_examples > 0:
            examples = format_examples(self.prompt.examples(self.task, self.seed))
        fills = {
            CONSTRAINT: f"{self.budget:.1f}",
            HOW_MANY: str(self.count),
            TASK_EXAMPLES: examples,
            SEEDARCH_EXAMPLES: "\n\n".join(format_demo(d) for d in demos),
        }
        for placeholder, value in fills.items():
            text = text.replace(placeholder, value)
        return text

    def propose(self, demos: Sequence[DemoItem]) -> Proposals:
        """Valid, distinct architectures within the budget, and counts of the rest."""
        prompt = self.build_prompt(demos)
        cache = ReplyCache(self.cache_path)
        runner = LLMRunner(self.llm, cache, self.meter)
        kept: dict[str, Architecture] = {}
        lost: Counter[str] = Counter()
        rounds = proposed = 0
        handled: set[int] = set()  # samples whose reply was already judged
        known = {d.arch.key() for d in demos}
        try:
            while rounds < self.max_rounds and len(kept) < self.count:
                rounds += 1
                # Samples judged in earlier rounds replay from the cache for free; the
                # new one (and one that failed before) is asked.
                [result] = runner.run(
                    [prompt],
                    n_samples=rounds,
                    parse=lambda t: parse_blocks(t) or None,
                    max_tokens=self.max_tokens,
                )
                for index, sample in enumerate(result.samples):
                    if index in handled or sample.value is None:
                        continue
                    handled.add(index)
                    proposed += len(sample.value)
                    for block in sample.value:
                        self._judge(block, kept, lost, known)
        finally:
            cache.close()
        stats = {
            "asked_for": self.count,
            "rounds": rounds,
            "proposed": proposed,
            "valid": len(kept),
            "invalid": sum(lost.values()),
            "invalid_by_reason": {reason: lost[reason] for reason in REASONS},
            "failed_replies": rounds - len(handled),
            "gflops_budget": self.budget,
            "cost": self.meter.as_dict(),
        }
        log.info("LLM proposals: %d valid of %d (%s)", len(kept), proposed, dict(lost))
        return Proposals(list(kept.values()), stats)

    def _judge(
        self,
        block: dict[str, str],
        kept: dict[str, Architecture],
        lost: Counter[str],
        known: set[str],
    ) -> None:
        try:
            arch = Architecture.from_arch_info([f"{k}: {v}" for k, v in block.items()])
        except InvalidArchitectureError:
            lost["incomplete"] += 1
            return
        if not self.space.contains(arch):
            lost["outside_space"] += 1
        elif arch.key() in kept or arch.key() in known:
            lost["duplicate"] += 1
        elif self.gflops(arch) > self.budget * (1 + self.tolerance):
            lost["over_budget"] += 1
        else:
            kept[arch.key()] = arch

    def gflops(self, arch: Architecture) -> float:
        """llmpp's GFLOPs of ``arch`` for this task's vocabulary."""
        return efficiency(arch, self.task.vocab_size, self.space.qkv_dim).gflops


def demonstrations(gold: GoldData, task: TaskSpec, space: SearchSpace, seed: int
                   ) -> list[DemoItem]:
    """The task's demonstrations of ``seed`` with their GFLOPs and gold BLEU."""
    demos = seed_demonstrations(task.gold_name or task.name, seed, source=gold.release_source(),
                                gold_dir=gold.gold, gold_field=gold.gold_field)
    return [DemoItem(d.arch, efficiency(d.arch, task.vocab_size, space.qkv_dim).gflops, d.score)
            for d in demos]
