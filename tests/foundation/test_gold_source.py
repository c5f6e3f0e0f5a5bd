"""Gold data: verified local roots, checksummed downloads, clear errors offline."""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from llmpp.errors import CorruptFileError, DataNotFoundError
from llmpp.gold import GoldSource, load_gold_split
from llmpp.gold.source import manifest

SPLIT = "train-test_seedarchs/123/wmt14ende/train.jsonl"


class _QuietHandler(SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        type(self).requests.append(self.path)
        super().do_GET()


@pytest.fixture
def file_server(tmp_path):
    """Serves ``tmp_path/served`` on a loopback port; stops after the test."""
    served = tmp_path / "served"
    served.mkdir()
    _QuietHandler.requests = []
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(served))
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_manifest_covers_the_release() -> None:
    entries = manifest()
    assert len(entries) == 351
    assert SPLIT in entries
    assert all(len(d) == 64 for d in entries.values())


def test_local_root_is_verified(gold_root) -> None:
    source = GoldSource(gold_root)
    assert source.path(SPLIT) == gold_root / SPLIT
    assert len(load_gold_split("wmt14ende", 123, "train", source=source)) == 10


def test_env_var_sets_the_root(gold_root, monkeypatch) -> None:
    monkeypatch.setenv("LLMPP_BENCHMARK_ROOT", str(gold_root))
    assert GoldSource().root == gold_root


def test_corrupt_local_file_is_detected_not_used(gold_root, tmp_path) -> None:
    root = tmp_path / "data"
    (root / SPLIT).parent.mkdir(parents=True)
    text = (gold_root / SPLIT).read_text().replace("24.3", "34.3", 1)
    (root / SPLIT).write_text(text)
    with pytest.raises(CorruptFileError, match="SHA-256"):
        load_gold_split("wmt14ende", 123, "train", source=GoldSource(root))


def test_missing_root_and_unknown_file(tmp_path, gold_root) -> None:
    with pytest.raises(DataNotFoundError, match="benchmark.root"):
        GoldSource(tmp_path / "nope")
    with pytest.raises(DataNotFoundError, match="not a file"):
        GoldSource(gold_root).path("secret.txt")


def test_download_verifies_and_caches(gold_root, file_server) -> None:
    served, url = file_server
    target = served / "35980b8faf884c51d25fa45a644b47729f152e03" / "data" / SPLIT
    target.parent.mkdir(parents=True)
    shutil.copy(gold_root / SPLIT, target)
    source = GoldSource(mirror=url)
    local = source.path(SPLIT)
    assert local.read_bytes() == (gold_root / SPLIT).read_bytes()
    assert len(_QuietHandler.requests) == 1
    # A fresh source finds the verified copy in the cache without downloading again.
    GoldSource(mirror=url).path(SPLIT)
    assert len(_QuietHandler.requests) == 1
    # A cached copy that went bad is replaced, not used.
    local.write_text("garbage\n")
    assert GoldSource(mirror=url).path(SPLIT).read_bytes() == target.read_bytes()
    assert len(_QuietHandler.requests) == 2


def test_tampered_download_is_rejected(gold_root, file_server) -> None:
    served, url = file_server
    target = served / "35980b8faf884c51d25fa45a644b47729f152e03" / "data" / SPLIT
    target.parent.mkdir(parents=True)
    target.write_text("not the release\n")
    with pytest.raises(CorruptFileError, match="does not match"):
        GoldSource(mirror=url).path(SPLIT)
    assert not any(Path(GoldSource(mirror=url).root).rglob("*.jsonl"))


def test_no_network_names_both_fixes() -> None:
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    source = GoldSource(mirror="http://127.0.0.1:9", timeout=2)
    with pytest.raises(DataNotFoundError) as info:
        source.path(SPLIT)
    message = str(info.value)
    assert "connect to the network" in message and "benchmark.root=" in message
