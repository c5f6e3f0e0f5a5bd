"""The on-disk reply cache: durable, keyed by everything that determines a reply."""

import asyncio
from pathlib import Path

from llmpp.llm.cache import CachedReply, ReplyCache, default_cache_path, request_key


def test_put_is_visible_to_a_new_process_handle(tmp_path):
    path = tmp_path / "replies.sqlite"
    cache = ReplyCache(path)
    key = request_key({"backend": "x", "model": "m"}, "prompt", 0, 0)
    assert cache.get(key) is None
    cache.put(key, "prompt", CachedReply("25.1", 100, 3))
    cache.close()
    again = ReplyCache(path)
    assert again.get(key) == CachedReply("25.1", 100, 3)
    assert len(again) == 1
    again.close()


def test_key_changes_with_every_ingredient():
    base = request_key({"backend": "openai", "model": "a", "temperature": 0.0}, "p", 0, 0)
    variants = [
        request_key({"backend": "azure", "model": "a", "temperature": 0.0}, "p", 0, 0),
        request_key({"backend": "openai", "model": "b", "temperature": 0.0}, "p", 0, 0),
        request_key({"backend": "openai", "model": "a", "temperature": 0.7}, "p", 0, 0),
        request_key({"backend": "openai", "model": "a", "temperature": 0.0}, "p ", 0, 0),
        request_key({"backend": "openai", "model": "a", "temperature": 0.0}, "p", 1, 0),
        request_key({"backend": "openai", "model": "a", "temperature": 0.0}, "p", 0, 1),
    ]
    assert len({base, *variants}) == 7


def test_default_location_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMPP_CACHE_DIR", str(tmp_path / "override"))
    assert default_cache_path() == tmp_path / "override" / "llm" / "replies.sqlite"
    monkeypatch.delenv("LLMPP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path().is_relative_to(tmp_path / "xdg")
    assert default_cache_path().parent.name == "llm"


def test_concurrent_tasks_and_handles_lose_nothing(tmp_path):
    path = tmp_path / "replies.sqlite"
    first, second = ReplyCache(path), ReplyCache(path)

    async def write(cache: ReplyCache, index: int) -> None:
        await asyncio.sleep(0)
        key = request_key({"m": "x"}, f"prompt {index}", 0, 0)
        cache.put(key, f"prompt {index}", CachedReply(str(index), 1, 1))

    async def main() -> None:
        await asyncio.gather(*(write(first if i % 2 else second, i) for i in range(200)))

    asyncio.run(main())
    assert len(first) == 200
    assert first.get(request_key({"m": "x"}, "prompt 7", 0, 0)).text == "7"
    assert len(first.answered_prompts()) == 200
    first.close()
    second.close()
    assert Path(path).is_file()
