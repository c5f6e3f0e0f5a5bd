"""The LLM client's small parts at their edges: the cache key's exact form, cache
errors, reply parsing bounds, which errors are transient, and Retry-After."""

from __future__ import annotations

import email.utils
import hashlib
import json
import random
import sqlite3
import time

import pytest

from llmpp.errors import CorruptFileError, FileSystemError
from llmpp.llm.cache import (
    CachedReply,
    ReplyCache,
    _storage_error,
    default_cache_path,
    request_key,
)
from llmpp.llm.parse import parse_first_word, parse_score, parse_scores
from llmpp.llm.retry import RetryPolicy, is_transient, retry_after_seconds


def test_the_cache_key_is_the_hash_of_one_fixed_json_form() -> None:
    # Keys outlive releases (a cache is reused across versions): the form is pinned.
    identity = {"model": "m", "backend": "b", "temperature": 0.5}
    prompt_sha = hashlib.sha256("héllo".encode()).hexdigest()
    payload = (
        '{"ask":2,"id":{"backend":"b","model":"m","temperature":0.5},'
        f'"prompt":"{prompt_sha}","sample":1}}'
    )
    assert request_key(identity, "héllo", 1, 2) == hashlib.sha256(payload.encode()).hexdigest()


def test_cache_location_and_parents(tmp_path) -> None:
    assert ReplyCache(None).path == default_cache_path()
    deep = ReplyCache(tmp_path / "a" / "b" / "replies.sqlite")
    assert deep.path.parent.is_dir() and len(deep) == 0
    assert deep.answered_prompts() == set()


def test_cache_errors_say_what_and_how_to_fix(tmp_path) -> None:
    folder = tmp_path / "taken"
    folder.mkdir()
    with pytest.raises(FileSystemError) as err:
        ReplyCache(folder)  # a directory where the file should be
    assert str(err.value) == (
        f"cannot write the LLM reply cache {folder}: the cache cannot be created there; or set "
        "LLMPP_CACHE_DIR=<writable dir> (or predictor.cache=<file>)"
    )
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database, definitely not" * 50)
    with pytest.raises(CorruptFileError) as corrupt:
        ReplyCache(bad)
    assert str(corrupt.value).startswith(f"LLM reply cache {bad} is unreadable (")
    assert str(corrupt.value).endswith(
        "); move it away to start a fresh cache (replies will be paid for again)"
    )
    full = _storage_error(bad, sqlite3.OperationalError("database or disk is full"))
    assert f"{bad}: the disk is full; free some space; or set" in str(full)
    odd = _storage_error(bad, sqlite3.OperationalError("something else"))
    assert f"{bad}: something else; or set" in str(odd)


def test_first_word_reading() -> None:
    assert parse_first_word("27.1 BLEU") == 27.1
    assert parse_first_word("  3 4") == 3.0
    for text in (None, "", "   ", "BLEU: 27.1", "27.1,", "inf", "nan"):
        assert parse_first_word(text) is None, text


def test_score_range_is_inclusive_with_paper_defaults() -> None:
    assert parse_score("100") == 100.0 and parse_score("100.5") is None
    assert parse_score("0") == 0.0 and parse_score("-0.5") is None
    assert parse_scores("-0.5 0.0", 2) == [None, 0.0]
    assert parse_scores("100 5 7", 2) == [100.0, 5.0]
    assert parse_scores("1: 100.5\n2: 100", 2) == [None, 100.0]
    assert parse_scores("1: 150", 1, high=200) == [150.0]


def test_indexed_replies() -> None:
    assert parse_scores("Architecture 2: 30\nArchitecture 1: 20", 2) == [20.0, 30.0]
    assert parse_scores("Here are the scores\n1: 20\n2: 30", 2) == [20.0, 30.0]
    assert parse_scores("1: 20\n3: 30", 2) == [20.0, None]  # index past the count
    assert parse_scores("1: 20\n1: 25", 2) == [20.0, None]  # the first answer counts


def test_only_json_decoding_errors_are_transient_among_plain_errors() -> None:
    assert is_transient(json.JSONDecodeError("Expecting value", "x", 0))
    assert is_transient(ValueError("invalid JSON body"))
    assert not is_transient(ValueError("invalid literal for int()"))
    assert not is_transient(RuntimeError("JSON"))


class _Err:
    def __init__(self, headers: dict[str, str]) -> None:
        self.response = type("R", (), {"headers": headers})()


def test_retry_after_is_never_negative_and_reads_dates() -> None:
    assert retry_after_seconds(_Err({"retry-after": "-3"})) == 0.0
    assert retry_after_seconds(_Err({"retry-after": "0.5"})) == 0.5
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert retry_after_seconds(_Err({"retry-after": past})) == 0.0
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28.0 <= retry_after_seconds(_Err({"retry-after": future})) <= 30.5


def test_backoff_uses_the_given_generator() -> None:
    policy = RetryPolicy(max_retries=3, base_delay=1.0, max_delay=60.0)
    random.seed(12345)
    want = random.Random(7).uniform(2.0, 4.0)
    assert policy.delay(2, None, random.Random(7)) == want


def test_the_cache_waits_a_minute_for_another_runs_write_lock(tmp_path, monkeypatch) -> None:
    # Runs sharing one cache take turns at SQLite's write lock; a long commit of another
    # run must be waited for (60 s), not turned into a failed run after SQLite's 5 s.
    import llmpp.llm.cache as cache_module

    seen = []
    real = sqlite3.connect

    def connect(*args, **kwargs):
        seen.append(kwargs.get("timeout"))
        return real(*args, **kwargs)

    monkeypatch.setattr(cache_module.sqlite3, "connect", connect)
    ReplyCache(tmp_path / "replies.sqlite").close()
    assert seen == [60.0]


def test_a_write_failing_after_the_open_names_the_cache_file(tmp_path) -> None:
    path = tmp_path / "replies.sqlite"
    cache = ReplyCache(path)
    cache._db.close()  # the file turns read-only under the open cache
    cache._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    with pytest.raises(FileSystemError, match=f"cannot write the LLM reply cache {path}: "):
        cache.put("k", "prompt", CachedReply("1", 1, 1))
    cache.close()
