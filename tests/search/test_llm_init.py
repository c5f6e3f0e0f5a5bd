"""``search.init=llm``: architectures proposed by an LLM (a local fake server), validated."""

from __future__ import annotations

import numpy as np
import pytest

from llmpp.errors import ConfigError
from llmpp.gold.source import GoldSource
from llmpp.llm.backends import OpenAICompatibleBackend
from llmpp.prompts.builder import DemoItem
from llmpp.search.llm_init import LLMArchitectureProposer, parse_blocks
from llmpp.task import TaskSpec, load_task_config
from llmpp.testing.fake_llm_server import FakeLLMServer

TASK = TaskSpec.from_config(load_task_config("wmt14_en_de"))


def _block(arch_lines, quote=False):
    if quote:  # chat models like to quote keys and add bullets
        return "\n".join(f"- '{line.split(': ')[0]}': {line.split(': ')[1]}" for line in arch_lines)
    return "\n".join(arch_lines)


NOWHERE = "http://127.0.0.1:9/v1"  # never contacted


@pytest.fixture
def setting(mini_space):
    """10 demonstrations and distinct fresh architectures (none the space's largest)."""
    unique = {a.key(): a for a in mini_space.sample(np.random.default_rng(0), 60)}
    unique.pop(mini_space.largest().key(), None)
    archs = list(unique.values())
    demos = [DemoItem(a, 1.0, 20.0 + i / 10) for i, a in enumerate(archs[:10])]
    return demos, archs[10:]


def _proposer(url, mini_space, gold_root, tmp_path, **kwargs):
    llm = OpenAICompatibleBackend(
        base_url=url, model="fake", mode="completion", backoff_base=0.01, max_reasks=1
    )
    return LLMArchitectureProposer(
        llm=llm,
        space=mini_space,
        task=TASK,
        root=str(gold_root),
        cache=str(tmp_path / "replies.sqlite"),
        **kwargs,
    )


def test_proposals_are_validated_and_counted(mini_space, gold_root, tmp_path, setting):
    demos, fresh = setting
    probe = _proposer(NOWHERE, mini_space, gold_root, tmp_path, gflops_budget=9)
    budget = max(probe.gflops(a) for a in fresh[:3])
    heavy = mini_space.largest()
    assert probe.gflops(heavy) > budget
    outside = ["encoder-embed-dim-subtransformer: 4096", *fresh[4].to_arch_info()[1:]]
    reply = "\n\n".join(
        [
            "Here are configurations:",
            _block(fresh[0].to_arch_info()) + "\nBLEU: 27.1\nGFLOPS: 0.4",
            _block(fresh[1].to_arch_info(), quote=True),
            _block(fresh[2].to_arch_info()),
            _block(fresh[0].to_arch_info()),  # repeated
            _block(demos[0].arch.to_arch_info()),  # a demonstration again
            _block(fresh[3].to_arch_info()[:6]),  # incomplete
            _block(outside),
            _block(heavy.to_arch_info()),
        ]
    )
    with FakeLLMServer(answer=lambda prompt: reply) as srv:
        proposer = _proposer(
            srv.base_url, mini_space, gold_root, tmp_path, gflops_budget=budget, count=3
        )
        out = proposer.propose(demos)
        assert srv.total_requests == 1
    assert [a.key() for a in out.archs] == [a.key() for a in fresh[:3]]
    stats = out.stats
    assert stats["valid"] == 3 and stats["proposed"] == 8 and stats["rounds"] == 1
    reasons = stats["invalid_by_reason"]
    assert reasons == {"duplicate": 2, "incomplete": 1, "outside_space": 1, "over_budget": 1}
    assert stats["invalid"] == 5 and stats["cost"]["llm_calls"] >= 1


def test_too_few_valid_asks_again_bounded_and_cached(mini_space, gold_root, tmp_path, setting):
    demos, fresh = setting
    replies = iter(
        ["no architectures here, sorry"]  # no block at all: re-asked within the sample
        + [_block(fresh[i].to_arch_info()) for i in range(10)]
    )
    with FakeLLMServer(answer=lambda prompt: next(replies)) as srv:
        proposer = _proposer(
            srv.base_url, mini_space, gold_root, tmp_path, gflops_budget=1e6, count=5, max_rounds=3
        )
        out = proposer.propose(demos)
        first_requests = srv.total_requests
    # One good architecture per reply: three rounds (the bound), not five.
    assert out.stats["rounds"] == 3 and out.stats["valid"] == 3
    assert first_requests == 4  # 1 unparseable + 3 answers
    with FakeLLMServer(answer=lambda prompt: "unused") as srv:
        again = _proposer(
            srv.base_url, mini_space, gold_root, tmp_path, gflops_budget=1e6, count=5, max_rounds=3
        ).propose(demos)
        assert srv.total_requests == 0  # a rerun pays for nothing twice
    assert [a.key() for a in again.archs] == [a.key() for a in out.archs]


def test_prompt_is_the_authors_generation_template(mini_space, gold_root, tmp_path, setting):
    demos, _ = setting
    proposer = _proposer(NOWHERE, mini_space, gold_root, tmp_path, gflops_budget=2.5)
    prompt = proposer.build_prompt(demos)
    raw = GoldSource(gold_root).path("instruction_templates/wmt14ende/default_flops").read_text()
    assert "$$$" not in prompt and "exactly 2.5 GFLOPs" in prompt
    assert "identify 10 configurations" in prompt
    assert prompt.startswith(raw.split("$$$")[0]) and prompt.count("BLEU: ") == 10
    with pytest.raises(ConfigError, match="search.init.kind=random"):
        LLMArchitectureProposer(
            llm=proposer.llm,
            space=mini_space,
            task=TaskSpec.from_config(load_task_config("synthetic_en_de")),
            gflops_budget=1.0,
        )


def test_parse_blocks_splits_at_the_first_key(mini_space, setting):
    _, fresh = setting
    text = _block(fresh[0].to_arch_info()) + "\n" + _block(fresh[1].to_arch_info())
    blocks = parse_blocks(text)
    assert len(blocks) == 2 and all(len(b) == 10 for b in blocks)
    assert parse_blocks("nothing") == [] and parse_blocks(None) == []
