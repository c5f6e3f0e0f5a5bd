"""Fairseq-binarized corpora (HAT's preprocessed WMT) read in place by llmpp's batching."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from llmpp.data.build import BOS, EOS, PAD, UNK
from llmpp.data.fairseq import FairseqCorpus, FairseqSplit, read_index
from llmpp.errors import ConfigError, CorruptFileError

# Symbols after fairseq's four specials (<s> 0, <pad> 1, </s> 2, <unk> 3): ids 4...
WORDS = ["der", "hund", "schl@@", "äft", ".", "the", "dog", "sle@@", "eps", "schul-bus",
         "school", "bus", "a"]
ID = {w: i + 4 for i, w in enumerate(WORDS)}
PAIRS = {  # source (en) words, target (de) words, per split
    "train": [(["the", "dog", "sle@@", "eps", "."], ["der", "hund", "schl@@", "äft", "."]),
              (["a", "school", "bus"], ["schul-bus"])] * 20,
    "valid": [(["the", "dog", "."], ["der", "hund", "."]),
              (["a", "school", "bus", "."], ["schul-bus", "."])],
    "test": [(["the", "dog"], ["der", "hund"])],
}


def write_fairseq_dataset(stem: Path, sentences: list[list[int]], dtype=np.uint16) -> None:
    """fairseq's MMapIndexedDataset layout: tokens (+ </s> each) and the index."""
    code = {np.uint8: 1, np.int32: 4, np.int64: 5, np.uint16: 8}[dtype]
    item = np.dtype(dtype).itemsize
    rows = [np.asarray([*s, 2], dtype=dtype) for s in sentences]  # fairseq appends </s>
    Path(f"{stem}.bin").write_bytes(b"".join(r.tobytes() for r in rows))
    sizes = np.asarray([len(r) for r in rows], dtype=np.int32)
    pointers = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) * item
    header = b"MMIDIDX\x00\x00" + struct.pack("<Q", 1) + struct.pack("<B", code)
    header += struct.pack("<QQ", len(rows), len(rows) + 1)
    doc_idx = np.arange(len(rows) + 1, dtype=np.int64)
    Path(f"{stem}.idx").write_bytes(header + sizes.tobytes() + pointers.tobytes()
                                    + doc_idx.tobytes())


def write_fairseq_corpus(root: Path, pair: str = "en-de") -> Path:
    """A small corpus as fairseq-preprocess writes it (joined dictionary)."""
    root.mkdir(parents=True, exist_ok=True)
    for lang in ("en", "de"):
        (root / f"dict.{lang}.txt").write_text("".join(f"{w} {100 - i}\n"
                                                        for i, w in enumerate(WORDS)))
    for split, pairs in PAIRS.items():
        for k, lang in enumerate(("en", "de")):
            write_fairseq_dataset(root / f"{split}.{pair}.{lang}",
                                  [[ID[w] for w in p[k]] for p in pairs])
    return root


def _task(root: Path, vocab: int = 4 + len(WORDS)) -> dict:
    return {"name": "wmt14_en_de", "source_lang": "en", "target_lang": "de",
            "vocab_size": vocab, "data": {"kind": "fairseq", "data_dir": str(root)}}


def test_index_header_and_ids_are_read_as_fairseq_wrote_them(tmp_path):
    root = write_fairseq_corpus(tmp_path / "bin")
    dtype, sizes, pointers = read_index(root / "valid.en-de.de.idx")
    assert dtype == np.uint16 and sizes.tolist() == [4, 3]  # </s> included
    assert pointers.tolist() == [0, 8]  # bytes
    split = FairseqSplit(root, "valid", ("en", "de"))
    assert len(split) == 2 and split.lengths("tgt").tolist() == [3, 2]  # </s> dropped
    src, tgt = split[1]
    assert tgt.tolist() == [ID["schul-bus"], ID["."]]
    assert split.costs().tolist() == [4, 5]
    packed = split.__getitems__([1, 0])
    assert packed.tgt.tolist() == [ID["schul-bus"], ID["."], ID["der"], ID["hund"], ID["."]]
    assert packed.src_lengths.tolist() == [4, 3]
    (root / "bad.idx").write_bytes(b"NOTANIDX" + bytes(30))
    with pytest.raises(CorruptFileError, match="MMapIndexedDataset"):
        read_index(root / "bad.idx")


def test_specials_map_to_llmpps_ids_and_bpe_is_removed(tmp_path):
    root = write_fairseq_corpus(tmp_path / "bin")
    write_fairseq_dataset(root / "test.en-de.de", [[0, 1, 3, ID["der"]]])  # <s> <pad> <unk>
    write_fairseq_dataset(root / "test.en-de.en", [[ID["the"]]])
    split = FairseqSplit(root, "test", ("en", "de"))
    assert split[0][1].tolist() == [BOS, PAD, UNK, ID["der"]]
    corpus = FairseqCorpus.open(_task(root))
    assert corpus.references("valid") == ["der hund .", "schul-bus ."]
    assert corpus.decode([ID["der"], ID["hund"], ID["schl@@"], ID["äft"], ID["."], EOS]) == (
        "der hund schläft .")
    assert corpus.decode([UNK, ID["der"]]) == "<unk> der"
    with pytest.raises(ConfigError, match="task.vocab_size=17"):
        FairseqCorpus.open(_task(root, vocab=100))
    (root / "dict.en.txt").write_text("other 1\n")
    with pytest.raises(ConfigError, match="joined-dictionary"):
        FairseqCorpus.open(_task(root))


def test_hats_file_order_serves_the_other_direction(tmp_path):
    """HAT's En-De download names files en-de; a de->en task reads the same files."""
    root = write_fairseq_corpus(tmp_path / "bin")
    task = {**_task(root), "source_lang": "de", "target_lang": "en"}
    corpus = FairseqCorpus.open(task)
    assert corpus.pair == ("en", "de")
    assert corpus.references("valid") == ["the dog .", "a school bus ."]


@pytest.mark.slow
def test_llmpp_supernet_trains_on_a_fairseq_corpus(tmp_path, compose):
    from llmpp.stages.supernet import run_supernet

    root = write_fairseq_corpus(tmp_path / "bin")
    cfg = compose("supernet", [
        "task=wmt14_en_de", "space=hat_mini", "logger=none", "data=mini",
        "task.data.kind=fairseq", f"task.data.data_dir={root}",
        f"task.vocab_size={4 + len(WORDS)}", "data.max_tokens=64", "data.valid_limit=null",
        "trainer.max_steps=2", "trainer.val_check_interval=2", "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false", "optim.warmup_steps=1", "eval_bleu_limit=2",
        "eval_archs=[smallest]",
    ])
    result = run_supernet(cfg, tmp_path / "run")
    assert result["steps"] == 2 and Path(result["checkpoint"]).is_file()
