"""Backoff arithmetic and Retry-After parsing."""

import random
from types import SimpleNamespace

import openai

from llmpp.llm.retry import RetryPolicy, is_transient, retry_after_seconds


def test_backoff_grows_is_jittered_and_capped():
    policy = RetryPolicy(max_retries=5, base_delay=1.0, max_delay=8.0)
    rng = random.Random(0)
    waits = [[policy.delay(r, None, rng) for _ in range(50)] for r in range(6)]
    for retry, samples in enumerate(waits):
        ceiling = min(8.0, 2**retry)
        assert all(0.5 * ceiling <= w <= ceiling for w in samples)
        assert len(set(samples)) > 1, "waits must be jittered"
    assert max(waits[5]) <= 8.0


def test_retry_after_overrides_backoff_and_is_capped():
    policy = RetryPolicy(max_retries=3, base_delay=0.1, max_delay=1.0, max_retry_after=30.0)
    assert 2.0 <= policy.delay(0, 2.0) <= 2.0 + 0.01  # above max_delay: the server knows best
    assert policy.delay(0, 1000.0) <= 30.0 + 0.01


def _error(headers):
    return SimpleNamespace(response=SimpleNamespace(headers=headers))


def test_retry_after_header_forms():
    assert retry_after_seconds(_error({"retry-after": "3"})) == 3.0
    assert retry_after_seconds(_error({"retry-after-ms": "250"})) == 0.25
    assert retry_after_seconds(_error({})) is None
    assert retry_after_seconds(_error({"retry-after": "not a date"})) is None
    assert retry_after_seconds(ValueError("no response")) is None


def test_only_transient_errors_are_retried():
    assert is_transient(openai.APITimeoutError(request=None))
    assert not is_transient(KeyError("x"))
