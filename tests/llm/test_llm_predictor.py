"""LLM-PP as a Predictor, against the fake OpenAI-compatible server."""

import numpy as np
import pytest

from llmpp.errors import ConfigError
from llmpp.gold.records import load_gold_split
from llmpp.gold.source import GoldSource
from llmpp.llm.backends import OpenAIBackend, OpenAICompatibleBackend
from llmpp.predictors.base import Demonstration, TaskContext
from llmpp.predictors.llm_pp import LLMPPPredictor
from llmpp.prompts.builder import PromptBuilder
from llmpp.task import TaskSpec, load_task_config
from llmpp.testing.fake_llm_server import FakeLLMServer
from llmpp.testing.predictor_contract import check_predictor_contract


@pytest.fixture(scope="module")
def gold(gold_root):
    source = GoldSource(gold_root)
    return (
        load_gold_split("wmt14ende", 123, "train", source=source),
        load_gold_split("wmt14ende", 123, "test", source=source),
    )


@pytest.fixture
def server():
    with FakeLLMServer() as srv:
        yield srv


def make(server, tmp_path, *, mode="completion", **kwargs):
    backend = OpenAICompatibleBackend(
        base_url=server.base_url,
        model="fake",
        mode=mode,
        timeout=5,
        backoff_base=0.01,
        concurrency=4,
        temperature=kwargs.pop("temperature", 0.0),
    )
    return LLMPPPredictor(
        llm=backend,
        prompt=PromptBuilder(),
        cache=str(tmp_path / "c.sqlite"),
        progress=False,
        **kwargs,
    )


def context(paper_space):
    return TaskContext(
        task=TaskSpec.from_config(load_task_config("wmt14_en_de")), space=paper_space, seed=123
    )


def demos_of(records):
    return [Demonstration(r.arch, r.score()) for r in records]


def test_contract(server, tmp_path, gold, paper_space):
    train, test = gold
    check_predictor_contract(
        lambda: make(server, tmp_path),
        context(paper_space),
        demos_of(train),
        [r.arch for r in test[:5]],
    )


def test_shared_prefix_is_byte_identical_and_queries_end_in_bleu(
    server, tmp_path, gold, paper_space
):
    train, test = gold
    predictor = make(server, tmp_path)
    predictor.setup(context(paper_space))
    predictor.fit(demos_of(train))
    scores = predictor.predict([r.arch for r in test])
    assert np.isfinite(scores).all()
    sent = list(dict.fromkeys(server.log))
    assert len(sent) == len(test)
    prefix = predictor.prefix
    for prompt, record in zip(predictor.prompts([r.arch for r in test]), test, strict=True):
        assert prompt in sent
        assert prompt.startswith(prefix) and prompt.endswith("\nBLEU: ")
        query = prompt[len(prefix) :]
        assert query.splitlines()[:10] == record.arch.to_arch_info()
        gflops = float(query.splitlines()[10].removeprefix("GFLOPS: "))
        assert gflops == pytest.approx(record.metrics["total_flops"] / 1e9, abs=0.051)
    # The shared part of all sent prompts is exactly the prefix, up to the first arch line.
    common = sent[0]
    for prompt in sent[1:]:
        while not prompt.startswith(common):
            common = common[:-1]
    assert common.startswith(prefix)
    assert "BLEU: " in prefix and all(f"BLEU: {r.score():.2f}" in prefix for r in train)
    predictor.close()


def test_samples_give_mean_and_std(tmp_path, gold, paper_space):
    train, test = gold
    replies = iter(["24.0", "26.0", "25.0", "25.0"])
    with FakeLLMServer(answer=lambda prompt: next(replies)) as srv:
        predictor = make(srv, tmp_path, n_samples=2, temperature=0.8)
        predictor.setup(context(paper_space))
        predictor.fit(demos_of(train))
        labels = predictor.label([test[0].arch])
        assert labels[0].prediction == pytest.approx(25.0)
        assert labels[0].std in (pytest.approx(1.0), pytest.approx(0.0))
        assert len(labels[0].samples) == 2
        assert predictor.cost()["llm_calls"] == 2
        predictor.close()


def test_multi_protocol_cuts_prompt_tokens(tmp_path, gold, paper_space):
    train, test = gold
    archs = [r.arch for r in test]

    def answer(prompt):
        count = prompt.count("Test architecture ")
        if count == 0:  # one architecture per query
            return "25.0"
        return "\n".join(f"{i}: {20 + i}.5" if i > 1 else "21.5" for i in range(1, count + 1))

    costs = {}
    for protocol in ("single", "multi"):
        with FakeLLMServer(answer=answer) as srv:
            predictor = make(srv, tmp_path / protocol, protocol=protocol, archs_per_query=5)
            predictor.setup(context(paper_space))
            predictor.fit(demos_of(train))
            scores = predictor.predict(archs)
            assert np.isfinite(scores).all()
            costs[protocol] = predictor.cost()["prompt_tokens"]
            if protocol == "multi":
                assert srv.total_requests == 4
                assert list(scores[:5]) == [21.5, 22.5, 23.5, 24.5, 25.5]
            predictor.close()
    assert costs["multi"] < costs["single"] / 3


def test_missing_key_fails_fast_with_one_line(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="export OPENAI_API_KEY") as info:
        OpenAIBackend(model="gpt-4o-mini")
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="llm.base_url"):
        OpenAICompatibleBackend(base_url=None, model="x")
    with pytest.raises(ConfigError, match="llm.mode"):
        OpenAICompatibleBackend(base_url="http://127.0.0.1:1/v1", model="x", mode="poetry")
