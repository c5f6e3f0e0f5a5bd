"""The paper authors' prompt templates, used verbatim from their data release.

The template files are read at run time through ``GoldSource`` (downloaded and
SHA-256 checked, or from ``benchmark.root``) — their text is not part of llmpp.
Placeholders are filled as the authors' scorer does: ``$$$task_examples$$$`` with
``task_examples`` (the paper: 5) numbered ``Input:``/``Output:`` pairs drawn from the
task's training split with the protocol seed (``llmpp.prompts.task_sampling``),
``$$$seedarch_examples$$$`` with the demonstrations separated by blank lines; each
query follows after a blank line and ends in ``BLEU: ``.

``reply`` chooses how an answer is read: ``authors`` (the first whitespace-separated
word must be a number, else the question is asked again) or ``first_number``
(llmpp's: the first number anywhere in the reply, within the BLEU range).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from llmpp.errors import ConfigError, UserError
from llmpp.gold.source import GoldSource
from llmpp.llm.parse import parse_first_word, parse_score
from llmpp.prompts.builder import DemoItem, format_arch, format_demo
from llmpp.prompts.task_sampling import format_examples, sample_task_examples
from llmpp.task import TaskSpec, load_task_config

log = logging.getLogger(__name__)

TASK_EXAMPLES = "$$$task_examples$$$"
SEEDARCH_EXAMPLES = "$$$seedarch_examples$$$"
# The predictor templates of the release (the others ask for new architectures).
VARIANTS = (
    "gpt_scorer_no_instruction",
    "gpt_scorer_task_defn",
    "gpt_scorer_search_dimension_defn",
    "gpt_scorer_dataset_name",
    "gpt_scorer_dataset_examples",
    "gpt_scorer_architecture_paper",
    "gpt_scorer_gigaflops",
    "gpt_scorer_concentrate_statement",
)
REPLY_PARSERS: dict[str, Callable[[str | None], float | None]] = {
    "authors": parse_first_word,
    "first_number": parse_score,
}
# The protocol seed used when a caller does not pass one (the first of 123/456/789).
FALLBACK_SEED = 123


def _plain(config: Mapping[str, Any]) -> dict[str, Any]:
    """A private plain-dict copy (the caller's config may change later)."""
    if isinstance(config, DictConfig):
        return OmegaConf.to_container(config, resolve=True)  # type: ignore[return-value]
    return copy.deepcopy(dict(config))


class AuthorsPromptBuilder:
    """Fills one of the authors' ``instruction_templates/<task>/<variant>`` files.

    Args:
        variant: the template file name (see ``VARIANTS``).
        task_examples: sentence pairs for ``$$$task_examples$$$`` (the paper: 5; 0 leaves
            the slot empty, on purpose).
        root: local copy of the authors' ``data/`` folder (None = cache/download).
        mirror: download mirror (None = GoldSource's default).
        name: the variant's recorded name.
        task_data: the run's ``task`` config (its ``data`` block says where the
            training split is); None = ``conf/task/<task>.yaml``.
        seed: protocol seed of the task-example draw when the caller passes none.
        reply: ``authors`` or ``first_number`` (see the module docstring).
    """

    demo_gflops = True

    def __init__(
        self,
        *,
        variant: str = "gpt_scorer_concentrate_statement",
        task_examples: int = 5,
        root: str | None = None,
        mirror: str | None = None,
        name: str | None = None,
        task_data: Mapping[str, Any] | None = None,
        seed: int | None = None,
        reply: str = "first_number",
    ) -> None:
        if variant not in VARIANTS:
            raise ConfigError(
                f"prompt.variant={variant!r} is not one of the authors' predictor templates: "
                + ", ".join(VARIANTS)
            )
        if reply not in REPLY_PARSERS:
            raise ConfigError(f"prompt.reply={reply!r}; choose one of: {', '.join(REPLY_PARSERS)}")
        self.variant = variant
        self.task_examples = int(task_examples)
        self.root = root
        self.mirror = mirror
        self.name = name or f"authors:{variant}"
        self.task_data = _plain(task_data) if task_data else None
        self.seed = seed
        self.reply = reply

    def parse_reply(self, text: str | None) -> float | None:
        """The score in a reply, or None (the caller then asks again, boundedly)."""
        return REPLY_PARSERS[self.reply](text)

    def template(self, task: TaskSpec) -> str:
        if not task.gold_name:
            raise ConfigError(
                f"prompt=authors has templates only for the paper's WMT tasks; task {task.name} "
                "has none (use prompt=default)"
            )
        source = GoldSource(self.root, mirror=self.mirror) if self.mirror else GoldSource(self.root)
        path = source.path(f"instruction_templates/{task.gold_name}/{self.variant}")
        return path.read_text(encoding="utf-8")

    def prefix(self, task: TaskSpec, demos: Sequence[DemoItem], *, seed: int | None = None) -> str:
        """The filled template; ``seed`` is the protocol seed of the task-example draw."""
        template = self.template(task)
        examples = ""
        if TASK_EXAMPLES in template and self.task_examples > 0:
            examples = format_examples(self.examples(task, seed))
        seedarchs = "\n\n".join(format_demo(d) for d in demos)
        filled = template.replace(TASK_EXAMPLES, examples)
        return filled.replace(SEEDARCH_EXAMPLES, seedarchs) + "\n\n"

    def examples(self, task: TaskSpec, seed: int | None = None) -> list[tuple[str, str]]:
        """The task's sentence pairs for this protocol seed (DataNotFoundError if absent)."""
        if seed is None:
            seed = self.seed if self.seed is not None else FALLBACK_SEED
            log.info("prompt=authors: task examples drawn with protocol seed %d", seed)
        config = self.task_data
        if not config or config.get("name") != task.name or not config.get("data"):
            config = _plain(load_task_config(task.name))
        try:
            return sample_task_examples(config, self.task_examples, int(seed))
        except UserError as exc:
            raise type(exc)(f"prompt=authors: {exc}") from None

    def query(self, item: DemoItem) -> str:
        return f"{format_arch(item.arch, item.gflops)}\nBLEU: "

    def multi_query(self, items: Sequence[DemoItem]) -> str:
        blocks = [
            f"Test architecture {i}:\n{format_arch(it.arch, it.gflops)}"
            for i, it in enumerate(items, start=1)
        ]
        return "\n\n".join(blocks) + "\n\nEstimated BLEU of each test architecture:\n1: "
