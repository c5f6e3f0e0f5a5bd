"""The reply cache key covers every setting that changes a reply; 4xx errors are final.

Both through the real runner against the loopback fault-injecting server: a reply
asked under one setting must never be replayed for another (a silently wrong number
in a paper table), and a request the API rejects (400, 422) is the caller's mistake,
recorded as a failure after one request instead of being retried.
"""

from __future__ import annotations

import httpx
import openai
import pytest

from llmpp.llm.cache import ReplyCache
from llmpp.llm.client import LLMRunner
from llmpp.llm.parse import parse_score
from llmpp.llm.retry import is_transient
from llmpp.testing.fake_llm_server import FakeLLMServer, fast_backend

PROMPT = "arch A"


@pytest.fixture(scope="module")
def server():
    with FakeLLMServer() as srv:
        yield srv


def ask(server, cache, run_kwargs=None, **overrides):
    """Run one prompt through a fresh runner on ``cache``; the server's new requests."""
    before = server.counts[PROMPT]
    runner = LLMRunner(fast_backend(server.base_url, **overrides), ReplyCache(cache))
    [result] = runner.run([PROMPT], parse=parse_score, **(run_kwargs or {}))
    assert result.samples[0].failure is None
    runner.cache.close()
    return server.counts[PROMPT] - before


# One setting changed at a time, each of which changes what the server is asked.
VARIANTS = [
    ("temperature", {"temperature": 0.5}, None),
    ("max_tokens", {"max_tokens": 7}, None),
    ("stop", {"stop": ["\n"]}, None),
    ("mode", {"mode": "chat"}, None),
    ("model", {"model": "fake-2"}, None),
    ("run max_tokens", {}, {"max_tokens": 5}),
]


@pytest.mark.parametrize(("overrides", "run_kwargs"), [v[1:] for v in VARIANTS],
                         ids=[v[0] for v in VARIANTS])
def test_a_reply_is_replayed_only_under_the_same_settings(
    server, tmp_path, overrides, run_kwargs
) -> None:
    cache = tmp_path / "replies.sqlite"
    assert ask(server, cache) == 1
    assert ask(server, cache) == 0  # same settings: replayed from the cache
    assert ask(server, cache, run_kwargs, **overrides) == 1, "a changed setting was replayed"
    assert ask(server, cache, run_kwargs, **overrides) == 0


def test_a_reask_at_another_temperature_is_not_replayed(server, tmp_path) -> None:
    cache = tmp_path / "replies.sqlite"
    server.script(["no number", "21.5"], prompt=PROMPT)
    assert ask(server, cache, reask_temperature=0.7) == 2  # the first reply is unusable
    assert ask(server, cache, reask_temperature=0.7) == 0
    # Same first ask (replayed), the re-ask now at another temperature: one new request.
    assert ask(server, cache, reask_temperature=0.9) == 1


@pytest.mark.parametrize("status", ["400", "422"])
def test_a_rejected_request_is_not_retried(tmp_path, status) -> None:
    with FakeLLMServer() as srv:
        srv.script([status] * 5, prompt=PROMPT)
        runner = LLMRunner(fast_backend(srv.base_url), ReplyCache(tmp_path / "c.sqlite"))
        [result] = runner.run([PROMPT], parse=parse_score)
        assert srv.counts[PROMPT] == 1
    assert result.samples[0].value is None and status in result.samples[0].failure
    assert runner.meter.retries == 0 and runner.meter.failures == 1


def _status_error(status: int) -> openai.APIStatusError:
    """The exception class the SDK raises for ``status`` (generic for the unnamed ones)."""
    classes = {
        400: openai.BadRequestError,
        409: openai.ConflictError,
        422: openai.UnprocessableEntityError,
        429: openai.RateLimitError,
    }
    cls = classes.get(status, openai.InternalServerError if status >= 500 else None)
    response = httpx.Response(status, request=httpx.Request("POST", "http://127.0.0.1/v1"))
    return (cls or openai.APIStatusError)(f"status {status}", response=response, body=None)


@pytest.mark.parametrize("status", [400, 402, 405, 410, 413, 415, 422, 451, 499])
def test_client_errors_are_final(status) -> None:
    assert not is_transient(_status_error(status))


@pytest.mark.parametrize("status", [408, 409, 425, 429, 500, 502, 503, 504])
def test_server_and_timing_errors_are_transient(status) -> None:
    assert is_transient(_status_error(status))


@pytest.mark.parametrize("status", [408, 425, 500, 503])
def test_the_status_rule_holds_for_a_generic_status_error(status) -> None:
    response = httpx.Response(status, request=httpx.Request("POST", "http://127.0.0.1/v1"))
    assert is_transient(openai.APIStatusError("x", response=response, body=None))
    four = httpx.Response(status - 8 if status < 500 else 400, request=response.request)
    assert not is_transient(openai.APIStatusError("x", response=four, body=None))
