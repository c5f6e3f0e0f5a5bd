"""The binarized corpus: same ids as direct encoding, atomic builds, one builder, old caches."""

import json
import logging
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import sentencepiece as spm
from helpers_data import tiny_task

from llmpp.data.corpus import corpus_dir, load_corpus, prepare_corpus, read_meta
from llmpp.data.sources import load_pairs

SIDES = ("src", "tgt")


def test_ids_and_text_match_direct_encoding(tmp_path):
    cfg = tiny_task()
    corpus = load_corpus(cfg, workers=2, chunk_pairs=70)  # several chunks, two processes
    sp = spm.SentencePieceProcessor(model_file=str(corpus.spm_path))
    assert sp.get_piece_size() == 200
    pairs = load_pairs(cfg)
    for split, expected in pairs.items():
        data = corpus.split(split)
        assert len(data) == len(expected)
        direct = [(sp.encode(s), sp.encode(t)) for s, t in expected]
        stored = [(a.tolist(), b.tolist()) for a, b in (data[i] for i in range(len(data)))]
        assert stored == direct, split
    assert corpus.references("valid") == [t for _, t in pairs["valid"]]
    assert corpus.sources("test") == [s for s, _ in pairs["test"]]
    assert corpus.decode(corpus.split("valid")[0][1]) == corpus.references("valid")[0]
    # training text is not kept; tokens use the smallest dtype (200 pieces -> 1 byte)
    assert not list(corpus.root.glob("train*.txt"))
    assert corpus.meta["dtype"] == "uint8"


def test_worker_count_does_not_change_the_corpus(tmp_path, monkeypatch):
    cfg = tiny_task(train=120)
    one = load_corpus(cfg, workers=1, chunk_pairs=1000)
    files = {p.name: p.read_bytes() for p in one.root.glob("*.*") if p.suffix in (".bin", ".idx")}
    monkeypatch.setenv("LLMPP_CACHE_DIR", str(tmp_path / "other"))
    two = load_corpus(cfg, workers=2, chunk_pairs=17)
    assert files == {name: (two.root / name).read_bytes() for name in files}
    assert len(files) == 12


def test_split_pickles_as_paths_not_data():
    corpus = load_corpus(tiny_task(), workers=1)
    data = corpus.split("train")
    _ = data[0]  # opened
    clone = pickle.loads(pickle.dumps(data))
    assert len(pickle.dumps(data)) < 1000
    assert clone[5][0].tolist() == data[5][0].tolist()


def test_old_format_cache_is_rebuilt_with_one_log_line(caplog):
    cfg = tiny_task(train=100)
    old = corpus_dir(cfg)
    old.mkdir(parents=True)
    (old / "ids.pt").write_bytes(b"old pickle")
    (old / "text.json").write_text("{}")
    with caplog.at_level(logging.INFO, logger="llmpp.data.corpus"):
        root = prepare_corpus(cfg, workers=1)
    assert root == old and read_meta(root) is not None
    assert not (root / "ids.pt").exists() and not (root / "text.json").exists()
    lines = [r.getMessage() for r in caplog.records if "old ids.pt/text.json" in r.getMessage()]
    assert len(lines) == 1


def _child_env() -> dict:
    # The child imports helpers_data as pytest does (the test folder on sys.path).
    here = os.path.dirname(os.path.abspath(__file__))
    return {"LLMPP_CACHE_DIR": os.environ["LLMPP_CACHE_DIR"], "PYTHONPATH": here}


def _run(code: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **env},
        cwd=os.getcwd(),
    )


KILLED_BUILD = """
    import os, signal
    from llmpp.data import binarized
    from llmpp.data.corpus import prepare_corpus
    from helpers_data import tiny_task

    real = binarized.SplitWriter.append
    def append_then_die(self, side, flat, lengths):
        real(self, side, flat, lengths)
        os.kill(os.getpid(), signal.SIGKILL)  # killed midway through writing train
    binarized.SplitWriter.append = append_then_die
    prepare_corpus(tiny_task(), workers=1, chunk_pairs=50)
"""


def test_killed_build_leaves_no_usable_corpus_and_next_run_rebuilds(tmp_path):
    env = _child_env()
    assert _run(KILLED_BUILD, env).wait(timeout=120) == -9
    cfg = tiny_task()
    dest = corpus_dir(cfg)
    partial = list(dest.parent.glob(f".build-{dest.name}-*"))
    assert partial and (partial[0] / "train.src.bin").exists()  # it died while encoding
    assert not dest.exists() and read_meta(dest) is None
    corpus = load_corpus(cfg, workers=1)
    assert len(corpus.split("train")) == 300
    assert not list(dest.parent.glob(f".build-{dest.name}-*"))  # the leftovers are swept


CONCURRENT_BUILD = """
    import sys, time
    from llmpp.data import build, corpus
    from helpers_data import tiny_task

    real = build.build_into
    def counted(*args, **kwargs):
        with open(sys.argv[1], "a") as log:
            log.write("built\\n")
        time.sleep(1.0)  # hold the lock long enough for the other process to arrive
        return real(*args, **kwargs)
    corpus.build_into = counted
    print(corpus.prepare_corpus(tiny_task(), workers=1))
"""


def test_two_processes_preparing_one_corpus_build_it_once(tmp_path):
    env = _child_env()
    log = tmp_path / "builds.log"
    code = textwrap.dedent(CONCURRENT_BUILD)
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(log)], env={**os.environ, **env})
        for _ in range(2)
    ]
    assert [p.wait(timeout=180) for p in procs] == [0, 0]
    assert log.read_text().splitlines() == ["built"]
    assert read_meta(corpus_dir(tiny_task())) is not None


def test_disk_format_is_flat_arrays_with_offsets():
    corpus = load_corpus(tiny_task(), workers=1)
    meta = json.loads((corpus.root / "meta.json").read_text())
    n = meta["splits"]["valid"]["pairs"]
    index = np.fromfile(corpus.root / "valid.tgt.idx", dtype=np.int64)
    tokens = np.fromfile(corpus.root / "valid.tgt.bin", dtype=meta["dtype"])
    assert len(index) == n + 1 and index[0] == 0 and index[-1] == len(tokens)
    assert tokens[index[3] : index[4]].tolist() == corpus.split("valid")[3][1].tolist()


def test_costs_are_the_longer_side_plus_one_across_chunks(monkeypatch):
    from llmpp.data import binarized

    data = load_corpus(tiny_task(), workers=1).split("train")
    expected = [max(len(s), len(t)) + 1 for s, t in (data[i] for i in range(len(data)))]
    monkeypatch.setattr(binarized, "_CHUNK", 7)  # many chunks, a ragged last one
    assert data.costs().tolist() == expected
    assert data.head(10).costs().tolist() == expected[:10]
