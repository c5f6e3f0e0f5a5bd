"""Robustness against a fault-injecting OpenAI-compatible server.

Every architecture must end with a prediction or a recorded failure, in bounded
time, whatever the server does; replies are cached so reruns make no calls.
"""

import time

import pytest

from llmpp.llm.cache import ReplyCache
from llmpp.llm.client import LLMRequestError, LLMRunner
from llmpp.llm.parse import parse_score
from llmpp.testing.fake_llm_server import FakeLLMServer, fast_backend


@pytest.fixture
def server():
    with FakeLLMServer(hang_seconds=1.0, retry_after=0.3) as srv:
        yield srv


def backend(server, **overrides):
    # A timeout shorter than the server's 1 s hang, so "hang" faults time out.
    return fast_backend(server.base_url, **{"timeout": 0.4, **overrides})


def run(server, prompts, tmp_path, **overrides):
    runner = LLMRunner(backend(server, **overrides), ReplyCache(tmp_path / "cache.sqlite"))
    started = time.monotonic()
    results = runner.run(prompts, parse=parse_score)
    return results, runner.meter, time.monotonic() - started


@pytest.mark.parametrize("fault", ["429", "500", "hang", "malformed", "drop"])
@pytest.mark.parametrize("mode", ["completion", "chat"])
def test_transient_fault_is_retried_into_an_answer(server, tmp_path, fault, mode):
    server.script([fault], prompt="arch A")
    [result], meter, _ = run(server, ["arch A"], tmp_path, mode=mode)
    assert result.samples[0].failure is None
    assert 0 <= result.samples[0].value <= 100
    assert server.counts["arch A"] == 2
    assert meter.retries == 1 and meter.llm_calls == 1


def test_retry_after_is_honoured(server, tmp_path):
    server.script(["429"], prompt="arch A")
    _, meter, elapsed = run(server, ["arch A"], tmp_path, backoff_base=0.001)
    assert elapsed >= 0.3, "the client must wait the server's Retry-After (0.3 s)"
    assert meter.retries == 1


def test_persistent_fault_becomes_a_recorded_failure(server, tmp_path):
    server.script(["500"] * 10, prompt="arch A")
    [result], meter, elapsed = run(server, ["arch A"], tmp_path)
    assert result.samples[0].value is None
    assert "InternalServerError" in result.samples[0].failure
    assert server.counts["arch A"] == 4  # first try + max_retries
    assert meter.failures == 1 and elapsed < 10


def test_hang_past_timeout_is_bounded(server, tmp_path):
    server.script(["hang"] * 10, prompt="arch A")
    [result], _, elapsed = run(server, ["arch A"], tmp_path, max_retries=1)
    assert result.samples[0].failure and "Timeout" in result.samples[0].failure
    assert elapsed < 5


@pytest.mark.parametrize("bad", ["banana", "250", "-4", ""])
def test_unparseable_replies_are_reasked_then_recorded(server, tmp_path, bad):
    server.script([bad, bad, bad, "26.5"], prompt="arch A")
    [result], meter, _ = run(server, ["arch A"], tmp_path, max_reasks=2)
    assert result.samples[0].value is None
    assert "no usable number after 3 asks" in result.samples[0].failure
    assert server.counts["arch A"] == 3 and meter.reasks == 2 and meter.failures == 1


def test_reask_recovers(server, tmp_path):
    server.script(["I think it is good", "25.75"], prompt="arch A")
    [result], meter, _ = run(server, ["arch A"], tmp_path)
    assert result.samples[0].value == 25.75 and meter.reasks == 1


def test_mixed_faults_every_prompt_ends_answered_or_failed(server, tmp_path):
    prompts = [f"arch {i}" for i in range(24)]
    faults = ["429", "500", "hang", "malformed", "drop", "banana", "250"]
    for i, prompt in enumerate(prompts):
        server.script([faults[i % len(faults)]] * (1 + i % 3), prompt=prompt)
    results, meter, elapsed = run(server, prompts, tmp_path)
    assert len(results) == len(prompts)
    for result in results:
        sample = result.samples[0]
        assert (sample.value is not None) != (sample.failure is not None)
    assert sum(r.samples[0].value is not None for r in results) >= 18
    assert elapsed < 30
    # The rerun replays every answered prompt from the cache (zero requests for them)
    # and asks again only the prompts that ended as failures.
    failed = {r.prompt for r in results if r.samples[0].failure}
    before = dict(server.counts)
    again, meter2, _ = run(server, prompts, tmp_path)
    asked = {p for p in prompts if server.counts[p] != before.get(p, 0)}
    assert asked == failed
    assert meter2.cache_hits >= meter.llm_calls
    for first, second in zip(results, again, strict=True):
        if first.samples[0].failure is None:
            assert second.samples[0].value == first.samples[0].value


def test_refused_request_fails_fast_with_one_line(tmp_path):
    with FakeLLMServer() as srv:
        srv.script(["401"])
        runner = LLMRunner(backend(srv), ReplyCache(tmp_path / "c.sqlite"))
        with pytest.raises(LLMRequestError, match="refused the request \\(401\\)"):
            runner.run(["arch A"], parse=parse_score)
        assert srv.total_requests == 1, "a refused key must not be retried"


def test_concurrency_limit_and_speedup(tmp_path):
    prompts = [f"arch {i}" for i in range(16)]
    with FakeLLMServer(delay=0.1) as srv:
        started = time.monotonic()
        run(srv, prompts, tmp_path / "one", concurrency=1)
        serial = time.monotonic() - started
        assert srv.max_in_flight == 1
    with FakeLLMServer(delay=0.1) as srv:
        started = time.monotonic()
        run(srv, prompts, tmp_path / "eight", concurrency=8)
        parallel = time.monotonic() - started
        assert 2 <= srv.max_in_flight <= 8
    assert parallel < serial / 2.5


def test_azure_deployment_goes_through_the_same_client(tmp_path, monkeypatch):
    from llmpp.llm.backends import AzureBackend

    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-test-key")
    with FakeLLMServer() as srv:
        srv.script(["500"])
        azure = AzureBackend(
            model="my-deployment",
            endpoint=srv.base_url.removesuffix("/v1"),
            timeout=5,
            backoff_base=0.01,
        )
        runner = LLMRunner(azure, ReplyCache(tmp_path / "c.sqlite"))
        [result] = runner.run(["arch A"], parse=parse_score)
        assert result.samples[0].value is not None and runner.meter.retries == 1
        assert {h.get("api-key") for h in srv.headers} == {"azure-test-key"}
