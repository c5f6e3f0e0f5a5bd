"""A prediction that failed is asked again on the next run; answered ones replay for free."""

import pytest

from llmpp.llm.cache import ReplyCache, prompt_sha
from llmpp.llm.client import LLMRunner
from llmpp.llm.parse import parse_score
from llmpp.testing.fake_llm_server import FakeLLMServer, fast_backend

PROMPTS = [f"arch {i}" for i in range(8)]


def run_once(server, cache_path):
    backend = fast_backend(server.base_url, max_retries=1, concurrency=3)
    cache = ReplyCache(cache_path)
    try:
        results = LLMRunner(backend, cache).run(PROMPTS, parse=parse_score)
    finally:
        cache.close()
    return {r.prompt: r.samples[0] for r in results}


def cached_rows(cache_path, prompt):
    cache = ReplyCache(cache_path)
    try:
        sha = prompt_sha(prompt)
        return cache._db.execute(
            "SELECT COUNT(*) FROM replies WHERE prompt_sha = ?", (sha,)
        ).fetchone()[0]
    finally:
        cache.close()


@pytest.fixture
def server():
    with FakeLLMServer() as srv:
        yield srv


def test_rerun_fills_failures_without_paying_twice(server, tmp_path):
    cache_path = tmp_path / "replies.sqlite"
    # arch 1: three unusable answers (every ask of the first run); arch 2: a server
    # error that outlasts the retries; arch 3: unusable, then fine on the first re-ask.
    server.script(["banana"] * 3, prompt="arch 1")
    server.script(["500"] * 2, prompt="arch 2")
    server.script(["banana"], prompt="arch 3")
    first = run_once(server, cache_path)
    failed = {p for p, s in first.items() if s.failure}
    assert failed == {"arch 1", "arch 2"}
    answered_first = dict(server.answered)

    second = run_once(server, cache_path)
    assert all(s.failure is None for s in second.values()), second
    for prompt in PROMPTS:
        if prompt not in failed:  # answered prompts replay from the cache: no new request
            assert server.answered[prompt] == answered_first[prompt], prompt
            assert second[prompt].value == first[prompt].value
    # The failed prompt continued its ask count: one new (4th) ask, a new cache row.
    assert server.answered["arch 1"] == 4
    assert server.answered["arch 2"] == 1
    # Every reply ever paid for is in the cache, and none was paid twice.
    for prompt in PROMPTS:
        assert cached_rows(cache_path, prompt) == server.answered[prompt], prompt

    before = server.total_requests
    third = run_once(server, cache_path)
    assert server.total_requests == before, "a complete cache answers everything"
    assert {p: s.value for p, s in third.items()} == {p: s.value for p, s in second.items()}


def test_a_rerun_pays_at_most_one_more_round_of_asks(server, tmp_path):
    cache_path = tmp_path / "replies.sqlite"
    server.script(["banana"] * 6, prompt="arch 0")
    assert run_once(server, cache_path)["arch 0"].failure
    sample = run_once(server, cache_path)["arch 0"]
    assert sample.failure and "after 6 asks" in sample.failure
    assert server.answered["arch 0"] == 6 == cached_rows(cache_path, "arch 0")


def test_a_failure_answered_on_a_rerun_is_no_failure_for_distillation(tmp_path, mini_space):
    """``llmpp label`` appends the rerun's answer after the failed row of the same arch."""
    import numpy as np

    from llmpp.labels.format import label_row, read_labels, write_labels

    a, b, c = mini_space.sample(np.random.default_rng(0), 3)
    row = dict(backend="b", model="m", task="t")
    write_labels(tmp_path / "labels.jsonl", [
        label_row(a, 21.0, seed=123, **row),
        label_row(b, None, seed=123, **row),  # failed in the first run...
        label_row(c, None, seed=123, **row),  # ...and this one failed again
        label_row(b, None, seed=456, **row),  # another seed is another label
        label_row(b, 22.5, seed=123, **row),  # the rerun's answer
    ])
    labels = read_labels(tmp_path / "labels.jsonl", mini_space)
    assert labels.rows == 5 and labels.failures == 2
    assert labels.targets.tolist() == [21.0, 22.5]
