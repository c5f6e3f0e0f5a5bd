"""llmpp's LLM-PP prompt: role, instructions, definitions, demonstrations, query.

A prompt is a *prefix* shared by every query of a run (everything but the test
architecture) plus a short *query*. The prefix is built once in ``prefix`` and
reused verbatim, so providers that cache prompt prefixes (OpenAI, vLLM, llama.cpp)
bill and compute it once. Every component can be switched off by config, which
turns the paper's prompt ablations into presets (``conf/prompt/``).

Demonstrations and queries use the paper's format: the ten ``arch_info`` lines,
``GFLOPS: x.x`` and ``BLEU: xx.xx``; a query ends with ``BLEU: `` so a completion
model continues with the number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmpp.llm.parse import parse_score
from llmpp.prompts import text
from llmpp.prompts.task_examples import task_example_pairs
from llmpp.space.architecture import Architecture
from llmpp.task import TaskSpec

LANGUAGES = {"en": "English", "de": "German", "fr": "French"}


@dataclass(frozen=True)
class DemoItem:
    """An architecture with its GFLOPs and (for demonstrations) its BLEU."""

    arch: Architecture
    gflops: float
    bleu: float | None = None


def format_arch(arch: Architecture, gflops: float | None) -> str:
    """The architecture lines and, when given, ``GFLOPS: x.x``."""
    lines = list(arch.to_arch_info())
    if gflops is not None:
        lines.append(f"GFLOPS: {gflops:.1f}")
    return "\n".join(lines)


def format_demo(item: DemoItem, gflops: bool = True) -> str:
    """One demonstration block: architecture, GFLOPS, ``BLEU: xx.xx``."""
    return f"{format_arch(item.arch, item.gflops if gflops else None)}\nBLEU: {item.bleu:.2f}"


class PromptBuilder:
    """llmpp's own template with switchable components.

    Args:
        name: the variant's name (recorded with every prediction).
        role: open with the role sentence.
        task: say which translation task and metric.
        task_examples: number of source/target pairs shown (0 = none; none either
            when the task has no data on disk).
        transformer_paper: say that the backbone is the Transformer of Vaswani et al.
        gflops: explain GFLOPS in the instructions.
        concentrate: ask the model to base its answer on the demonstrations.
        answer_format: ask for a bare number (helps chat models).
        definitions: define each hyperparameter.
        demo_header: title the demonstrations.
        demo_gflops: show ``GFLOPS`` in demonstrations and queries.
    """

    def __init__(
        self,
        *,
        name: str = "default",
        role: bool = True,
        task: bool = True,
        task_examples: int = 3,
        transformer_paper: bool = True,
        gflops: bool = True,
        concentrate: bool = True,
        answer_format: bool = True,
        definitions: bool = True,
        demo_header: bool = True,
        demo_gflops: bool = True,
    ) -> None:
        self.name = name
        self.role = role
        self.task = task
        self.task_examples = int(task_examples)
        self.transformer_paper = transformer_paper
        self.gflops = gflops
        self.concentrate = concentrate
        self.answer_format = answer_format
        self.definitions = definitions
        self.demo_header = demo_header
        self.demo_gflops = demo_gflops

    # ---- the shared prefix ------------------------------------------------------------
    def prefix(self, task: TaskSpec, demos: Sequence[DemoItem], *, seed: int | None = None) -> str:
        """Everything before the test architecture; identical for every query of a run.

        ``seed`` (the protocol seed) is accepted for the same call as the authors'
        builder; llmpp's own task examples are fixed validation pairs and ignore it.
        """
        sections = []
        if self.role:
            sections.append(text.ROLE)
        instructions = self._instructions(task)
        if instructions:
            numbered = [f"{i}. {line}" for i, line in enumerate(instructions, start=1)]
            sections.append("\n".join([text.INSTRUCTIONS_HEADER, *numbered]))
        if self.definitions:
            lines = [f"{key}: {meaning}" for key, meaning in text.DEFINITIONS.items()]
            sections.append("\n".join([text.DEFINITIONS_HEADER, *lines]))
        blocks = [format_demo(d, self.demo_gflops) for d in demos]
        if self.demo_header and blocks:
            blocks[0] = f"{text.DEMOS_HEADER}\n\n{blocks[0]}"
        sections.extend(blocks)
        return "\n\n".join(sections) + "\n\n"

    def _instructions(self, task: TaskSpec) -> list[str]:
        lines = []
        if self.task:
            lines.append(
                text.TASK.format(
                    title=task.title,
                    source=LANGUAGES.get(task.source_lang, task.source_lang),
                    target=LANGUAGES.get(task.target_lang, task.target_lang),
                )
            )
        pairs = task_example_pairs(task.name, self.task_examples)
        if pairs:
            src = LANGUAGES.get(task.source_lang, task.source_lang)
            tgt = LANGUAGES.get(task.target_lang, task.target_lang)
            shown = "\n".join(f"   {src}: {s}\n   {tgt}: {t}" for s, t in pairs)
            lines.append(text.TASK_EXAMPLES.format(examples=shown))
        if self.transformer_paper:
            lines.append(text.TRANSFORMER_PAPER)
        if self.gflops:
            lines.append(text.GFLOPS)
        if self.concentrate:
            lines.append(text.CONCENTRATE)
        if self.answer_format:
            lines.append(text.ANSWER_FORMAT)
        return lines

    def parse_reply(self, text: str | None) -> float | None:
        """The score in a reply: its first number within the BLEU range, else None."""
        return parse_score(text)

    # ---- queries ------------------------------------------------------------------
    def query(self, item: DemoItem) -> str:
        """One test architecture, ending in ``BLEU: `` (appended to the prefix)."""
        return f"{format_arch(item.arch, item.gflops if self.demo_gflops else None)}\nBLEU: "

    def multi_query(self, items: Sequence[DemoItem]) -> str:
        """Several test architectures in one query (the cheaper protocol)."""
        blocks = [
            f"{text.MULTI_HEADER.format(index=i)}\n"
            f"{format_arch(item.arch, item.gflops if self.demo_gflops else None)}"
            for i, item in enumerate(items, start=1)
        ]
        return "\n\n".join(blocks) + f"\n\n{text.MULTI_ANSWER}\n1: "
