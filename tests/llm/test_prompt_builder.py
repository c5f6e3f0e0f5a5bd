"""Prompt components, ablation presets and the authors' templates."""

import re

import pytest
from hydra.utils import instantiate

from llmpp.gold.records import load_gold_split
from llmpp.gold.source import GoldSource
from llmpp.prompts import text
from llmpp.prompts.authors import VARIANTS, AuthorsPromptBuilder
from llmpp.prompts.builder import DemoItem, PromptBuilder
from llmpp.task import TaskSpec, load_task_config

# The authors' order of additions (gpt_scorer_no_instruction ... concentrate_statement),
# then llmpp's answer-format line.
PRESETS = [
    "no_instructions",
    "task_definition",
    "search_dimensions",
    "dataset_name",
    "task_examples",
    "transformer_paper",
    "gflops",
    "concentrate",
    "default",
]


@pytest.fixture(scope="module")
def demos(gold_root):
    records = load_gold_split("wmt14ende", 123, "train", source=GoldSource(gold_root))
    return [DemoItem(r.arch, r.metrics["total_flops"] / 1e9, r.score()) for r in records]


def task(name="wmt14_en_de"):
    return TaskSpec.from_config(load_task_config(name))


def test_default_has_every_component_and_the_demo_format(demos):
    prefix = PromptBuilder().prefix(task(), demos)
    for part in (
        text.ROLE,
        text.TRANSFORMER_PAPER,
        text.GFLOPS,
        text.CONCENTRATE,
        text.DEFINITIONS_HEADER,
        "WMT'14 English to German",
    ):
        assert part in prefix
    blocks = re.findall(r"GFLOPS: \d+\.\d\nBLEU: \d+\.\d\d\n", prefix)
    assert len(blocks) == 10
    query = PromptBuilder().query(demos[0])
    assert query.endswith(f"GFLOPS: {demos[0].gflops:.1f}\nBLEU: ")


def test_presets_compose_and_each_ablation_step_changes_the_prompt(compose, demos):
    prefixes = []
    for preset in PRESETS:
        cfg = compose("benchmark", [f"prompt={preset}", "predictor=llm_pp"])
        builder = instantiate(cfg.prompt)
        assert builder.name == preset
        prefixes.append(builder.prefix(task("synthetic_en_de"), demos))
    assert len(set(prefixes)) == len(PRESETS)
    bare = prefixes[0]
    assert bare.startswith("encoder-embed-dim-subtransformer") and text.ROLE not in bare
    for shorter, longer in zip(prefixes[1:-1], prefixes[2:], strict=True):
        assert len(longer) > len(shorter)


def test_task_examples_only_where_data_is_local(demos):
    builder = PromptBuilder(task_examples=2)
    synthetic = builder.prefix(task("synthetic_en_de"), demos)
    assert synthetic.count("   English: ") == 2 and synthetic.count("   German: ") == 2
    wmt = builder.prefix(task("wmt14_en_de"), demos)
    assert "English: " not in wmt  # no WMT corpus on disk offline: no examples


def test_default_wording_is_llmpps_own(gold_root, demos):
    ours = PromptBuilder().prefix(task(), demos)
    source = GoldSource(gold_root)
    arch_lines = {line for d in demos for line in d.arch.to_arch_info()}
    ours_text = " ".join(line for line in ours.splitlines() if line not in arch_lines)
    # The paper's title and authors are a citation, not wording.
    ours_text = ours_text.replace('"Attention Is All You Need" (Vaswani et al., 2017)', "")
    words = ours_text.split()
    windows = {" ".join(words[i : i + 7]) for i in range(len(words) - 6)}
    for variant in VARIANTS:
        theirs = " ".join(
            source.path(f"instruction_templates/wmt14ende/{variant}").read_text().split()
        )
        shared = [w for w in windows if w in theirs]
        assert not shared, f"default prompt repeats the authors' wording: {shared[:2]}"


@pytest.mark.parametrize(
    "variant", ["gpt_scorer_concentrate_statement", "gpt_scorer_no_instruction"]
)
def test_authors_template_is_filled(gold_root, demos, variant):
    builder = AuthorsPromptBuilder(variant=variant, root=str(gold_root), task_examples=0)
    prefix = builder.prefix(task(), demos)
    raw = (gold_root / "instruction_templates" / "wmt14ende" / variant).read_text()
    assert "$$$" not in prefix
    assert prefix.startswith(raw.split("$$$")[0])
    assert prefix.count("BLEU: ") == 10 and prefix.endswith("\n\n")
    assert builder.query(demos[0]).endswith("\nBLEU: ")
    assert builder.name == f"authors:{variant}"


def test_authors_template_needs_a_paper_task(gold_root, demos):
    from llmpp.errors import ConfigError

    with pytest.raises(ConfigError, match="prompt=default"):
        AuthorsPromptBuilder(root=str(gold_root)).prefix(task("synthetic_en_de"), demos)
    with pytest.raises(ConfigError, match="not one of"):
        AuthorsPromptBuilder(variant="default_flops")


# What each of the authors' templates adds to the previous one (VARIANTS[1:]), in
# llmpp's component names.
AUTHORS_ADDITIONS = (
    "role",
    "definitions",
    "task",
    "task_examples",
    "transformer_paper",
    "gflops",
    "concentrate",
)


def test_ablation_presets_follow_the_authors_order(compose):
    ablations = PRESETS[:-1]  # `default` adds llmpp's reply-format line last
    assert len(AUTHORS_ADDITIONS) == len(VARIANTS) - 1 == len(ablations) - 1
    added, previous = [], None
    for preset in ablations:
        builder = instantiate(compose("benchmark", [f"prompt={preset}", "predictor=llm_pp"]).prompt)
        on = {flag for flag in AUTHORS_ADDITIONS if getattr(builder, flag)}
        if previous is not None:
            added.append(on - previous)
        previous = on
    assert added == [{flag} for flag in AUTHORS_ADDITIONS]
