"""``prompt=authors``: the authors' template filled byte for byte as their scorer fills it.

The expected text is assembled here from the authors' files themselves (template,
raw ``arch_info`` strings, ``total_flops``, ``valid_BLEU``) and from a small local
training split written by the test, so llmpp's own rendering is what is checked.
"""

from __future__ import annotations

import json

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from llmpp.errors import DataNotFoundError
from llmpp.gold.records import load_gold_split
from llmpp.gold.source import GoldSource
from llmpp.llm.parse import parse_first_word
from llmpp.prompts.authors import VARIANTS, AuthorsPromptBuilder
from llmpp.prompts.builder import DemoItem
from llmpp.prompts.task_sampling import protocol_indices
from llmpp.task import TaskSpec, load_task_config

VARIANT = "gpt_scorer_concentrate_statement"
ROWS = 40
# Python's random.seed(s); randint(0, 39) until 5 distinct; sorted (the authors' draw).
EXPECTED_ROWS = {123: [3, 5, 6, 17, 26], 456: [2, 24, 27, 28, 29]}


@pytest.fixture
def local_task(tmp_path):
    """wmt14_en_de whose training split is 40 local lines per side."""
    (tmp_path / "train.en").write_text("".join(f"source line {i} .\n" for i in range(ROWS)))
    (tmp_path / "train.de").write_text("".join(f"Zielzeile {i} .\n" for i in range(ROWS)))
    config = OmegaConf.to_container(load_task_config("wmt14_en_de"), resolve=True)
    config["data"]["data_dir"] = str(tmp_path)
    return config


def _raw_records(gold_root, seed, split):
    path = gold_root / "train-test_seedarchs" / str(seed) / "wmt14ende" / f"{split}.jsonl"
    return [json.loads(line)["scratch"] for line in path.read_text().splitlines() if line.strip()]


def _expected(gold_root, seed):
    """The prompt of the first test architecture, written out from the raw files."""
    template = (gold_root / "instruction_templates" / "wmt14ende" / VARIANT).read_text()
    examples = "\n\n".join(
        f"Example {k}:\nInput: source line {row} .\nOutput: Zielzeile {row} ."
        for k, row in enumerate(EXPECTED_ROWS[seed], start=1)
    )
    demos = "\n\n".join(
        "\n".join(r["arch_info"])
        + f"\nGFLOPS: {r['total_flops'] / 1e9:.1f}\nBLEU: {r['valid_BLEU']:.2f}"
        for r in _raw_records(gold_root, seed, "train")
    )
    test = _raw_records(gold_root, seed, "test")[0]
    query = "\n".join(test["arch_info"]) + f"\nGFLOPS: {test['total_flops'] / 1e9:.1f}\nBLEU: "
    filled = template.replace("$$$task_examples$$$", examples)
    return filled.replace("$$$seedarch_examples$$$", demos) + "\n\n" + query


def _items(gold_root, seed, split):
    records = load_gold_split("wmt14ende", seed, split, source=GoldSource(gold_root))
    return [DemoItem(r.arch, r.metrics["total_flops"] / 1e9, r.score()) for r in records]


@pytest.mark.parametrize("seed", [123, 456])
def test_authors_prompt_is_byte_exact(gold_root, local_task, seed):
    builder = AuthorsPromptBuilder(
        variant=VARIANT, root=str(gold_root), task_data=local_task, task_examples=5
    )
    task = TaskSpec.from_config(local_task)
    prompt = builder.prefix(task, _items(gold_root, seed, "train"), seed=seed) + builder.query(
        _items(gold_root, seed, "test")[0]
    )
    assert prompt == _expected(gold_root, seed)


def test_protocol_draw_and_cache(gold_root, local_task, tmp_path):
    assert protocol_indices(ROWS, 5, 123) == EXPECTED_ROWS[123]
    builder = AuthorsPromptBuilder(root=str(gold_root), task_data=local_task)
    task = TaskSpec.from_config(local_task)
    first = builder.examples(task, 123)
    assert [s for s, _ in first] == [f"source line {r} ." for r in EXPECTED_ROWS[123]]
    (tmp_path / "train.en").unlink()  # the draw is cached: no second read of the split
    assert builder.examples(task, 123) == first
    with pytest.raises(DataNotFoundError, match="train.en"):
        builder.examples(task, 456)


def test_missing_training_split_is_one_line(gold_root, tmp_path, local_task):
    local_task["data"]["data_dir"] = str(tmp_path / "nowhere")
    builder = AuthorsPromptBuilder(root=str(gold_root), task_data=local_task)
    demos = _items(gold_root, 123, "train")
    with pytest.raises(DataNotFoundError) as err:
        builder.prefix(TaskSpec.from_config(local_task), demos, seed=123)
    assert str(err.value).startswith("prompt=authors:") and "\n" not in str(err.value)
    # The Hugging Face split, not in the (offline, empty) cache: one line too.
    del local_task["data"]["data_dir"]
    hub = AuthorsPromptBuilder(root=str(gold_root), task_data=local_task)
    with pytest.raises(DataNotFoundError, match="wmt/wmt14") as err:
        hub.examples(TaskSpec.from_config(local_task), 123)
    assert "\n" not in str(err.value)
    # The variants without the slot need no data; task_examples=0 empties it on purpose.
    bare = AuthorsPromptBuilder(root=str(gold_root), task_data=local_task, variant=VARIANTS[0])
    assert bare.prefix(TaskSpec.from_config(local_task), demos, seed=123)
    empty = AuthorsPromptBuilder(root=str(gold_root), task_data=local_task, task_examples=0)
    assert "Example 1:" not in empty.prefix(TaskSpec.from_config(local_task), demos, seed=123)


def test_authors_preset_composes_with_the_run_task(compose, tmp_path):
    cfg = compose(
        "benchmark",
        ["prompt=authors", "predictor=llm_pp", f"task.data.data_dir={tmp_path}"],
    )
    builder = instantiate(cfg.prompt)
    assert builder.task_examples == 5 and builder.reply == "authors"
    assert builder.task_data["data"]["data_dir"] == str(tmp_path)


def test_authors_reply_handling():
    assert parse_first_word(" 27.35 is my estimate") == 27.35
    for reply in ("BLEU: 27.3", "27.3,", "", None, "about 27"):
        assert parse_first_word(reply) is None
    assert parse_first_word("140") == 140.0  # no range check, as in the paper's scorer
    builder = AuthorsPromptBuilder(reply="authors")
    assert builder.parse_reply("BLEU: 27.3") is None
    assert AuthorsPromptBuilder(reply="first_number").parse_reply("BLEU: 27.3") == 27.3
