"""The paper authors' prompt templates, used verbatim from their data release.

The template files are read at run time through ``GoldSource`` (downloaded and
SHA-256 checked, or from ``benchmark.root``) — their text is not part of llmpp.
Placeholders are filled as the authors' scripts do: ``$$$task_examples$$$`` with
numbered ``Input:``/``Output:`` sentence pairs and ``$$$seedarch_examples$$$`` with
the demonstrations separated by blank lines; each query follows after a blank line.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmpp.errors import ConfigError
from llmpp.gold.source import GoldSource
from llmpp.prompts.builder import DemoItem, format_arch, format_demo
from llmpp.prompts.task_examples import task_example_pairs
from llmpp.task import TaskSpec

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


class AuthorsPromptBuilder:
    """Fills one of the authors' ``instruction_templates/<task>/<variant>`` files.

    Args:
        variant: the template file name (see ``VARIANTS``).
        task_examples: sentence pairs for ``$$$task_examples$$$`` (0 = none).
        root: local copy of the authors' ``data/`` folder (None = cache/download).
        mirror: download mirror (None = GoldSource's default).
        name: the variant's recorded name.
    """

    demo_gflops = True

    def __init__(
        self,
        *,
        variant: str = "gpt_scorer_concentrate_statement",
        task_examples: int = 0,
        root: str | None = None,
        mirror: str | None = None,
        name: str | None = None,
    ) -> None:
        if variant not in VARIANTS:
            raise ConfigError(
                f"prompt.variant={variant!r} is not one of the authors' predictor templates: "
                + ", ".join(VARIANTS)
            )
        self.variant = variant
        self.task_examples = int(task_examples)
        self.root = root
        self.mirror = mirror
        self.name = name or f"authors:{variant}"

    def template(self, task: TaskSpec) -> str:
        if not task.gold_name:
            raise ConfigError(
                f"prompt=authors has templates only for the paper's WMT tasks; task {task.name} "
                "has none (use prompt=default)"
            )
        source = GoldSource(self.root, mirror=self.mirror) if self.mirror else GoldSource(self.root)
        path = source.path(f"instruction_templates/{task.gold_name}/{self.variant}")
        return path.read_text(encoding="utf-8")

    def prefix(self, task: TaskSpec, demos: Sequence[DemoItem]) -> str:
        pairs = task_example_pairs(task.name, self.task_examples)
        examples = "\n\n".join(
            f"Example {i}:\nInput: {s}\nOutput: {t}" for i, (s, t) in enumerate(pairs, start=1)
        )
        seedarchs = "\n\n".join(format_demo(d) for d in demos)
        filled = self.template(task).replace(TASK_EXAMPLES, examples)
        return filled.replace(SEEDARCH_EXAMPLES, seedarchs) + "\n\n"

    def query(self, item: DemoItem) -> str:
        return f"{format_arch(item.arch, item.gflops)}\nBLEU: "

    def multi_query(self, items: Sequence[DemoItem]) -> str:
        blocks = [
            f"Test architecture {i}:\n{format_arch(it.arch, it.gflops)}"
            for i, it in enumerate(items, start=1)
        ]
        return "\n\n".join(blocks) + "\n\nEstimated BLEU of each test architecture:\n1: "
