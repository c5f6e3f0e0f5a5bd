"""Local raw text and HF-format loaders, the SentencePiece cache and token batching."""

import json

import pytest

from llmpp.data.batching import TokenBatchSampler, collate, make_batches
from llmpp.data.corpus import BOS, EOS, PAD, corpus_dir, load_corpus
from llmpp.data.sources import load_pairs, read_local
from llmpp.errors import DataNotFoundError
from llmpp.task import load_task_config

PAIRS = [
    ("the dog sees the cat .", "der hund sieht die katze ."),
    ("a man waits .", "ein mann wartet ."),
]


def _write_local(root, pairs):
    for split in ("train", "valid", "test"):
        (root / f"{split}.en").write_text("\n".join(s for s, _ in pairs) + "\n")
        (root / f"{split}.de").write_text("\n".join(t for _, t in pairs) + "\n")


def test_local_text_files(tmp_path):
    _write_local(tmp_path, PAIRS)
    cfg = load_task_config("wmt14_en_de")
    cfg.data.data_dir = str(tmp_path)
    pairs = load_pairs(cfg)
    assert pairs["valid"] == PAIRS and pairs["test"] == PAIRS


def test_local_files_misaligned_or_missing(tmp_path):
    _write_local(tmp_path, PAIRS)
    (tmp_path / "valid.de").write_text("only one line\n")
    with pytest.raises(DataNotFoundError, match="align"):
        read_local(tmp_path, "en", "de", "valid")
    with pytest.raises(DataNotFoundError, match="test.en"):
        read_local(tmp_path / "nowhere", "en", "de", "test")


def test_hf_translation_rows_from_local_json(tmp_path):
    pytest.importorskip("datasets")
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "".join(json.dumps({"translation": {"de": t, "en": s}}) + "\n" for s, t in PAIRS)
    )
    cfg = load_task_config("wmt19_en_de")
    spec = {"path": "json", "data_files": str(rows), "split": "train"}
    cfg.data.hf = {"train": spec, "valid": spec, "test": spec}
    cfg.data.max_pairs = {"train": 1, "valid": None, "test": None}
    pairs = load_pairs(cfg)
    assert pairs["train"] == PAIRS[:1] and pairs["test"] == PAIRS


def test_corpus_cache_is_built_once_and_reused(tmp_path):
    cfg = load_task_config("synthetic_en_de")
    cfg.vocab_size = 200
    cfg.data.sizes = {"train": 300, "valid": 10, "test": 10}
    corpus = load_corpus(cfg)
    assert corpus.tokenizer().get_piece_size() == 200
    assert len(corpus.ids["train"]) == 300 and len(corpus.references["valid"]) == 10
    stamp = (corpus_dir(cfg) / "ids.pt").stat().st_mtime_ns
    again = load_corpus(cfg)
    assert (corpus_dir(cfg) / "ids.pt").stat().st_mtime_ns == stamp
    assert again.ids["valid"] == corpus.ids["valid"]
    assert corpus.decode(corpus.ids["valid"][0][1]) == corpus.references["valid"][0]


def test_token_batches_respect_max_tokens_and_shard_by_rank():
    lengths = [3, 9, 4, 12, 7, 7, 2, 10, 5, 6] * 5
    batches = make_batches(lengths, 24, None)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(max(lengths[i] for i in b) * len(b) <= 24 for b in batches)
    ranks = [
        list(TokenBatchSampler(lengths, 24, shuffle=True, seed=1, rank=r, world=2)) for r in (0, 1)
    ]
    assert len(ranks[0]) == len(ranks[1])
    assert not {i for b in ranks[0] for i in b} & {i for b in ranks[1] for i in b}
    sampler = TokenBatchSampler(lengths, 24, shuffle=True, seed=1)
    assert list(sampler) != list(sampler)  # reshuffled each epoch


def test_collate_shapes_and_specials():
    batch = collate([([5, 6], [7, 8, 9]), ([5], [7])])
    assert batch["src"].tolist() == [[5, 6, EOS], [5, EOS, PAD]]
    assert batch["tgt_in"].tolist() == [[BOS, 7, 8, 9], [BOS, 7, PAD, PAD]]
    assert batch["tgt_out"].tolist() == [[7, 8, 9, EOS], [7, EOS, PAD, PAD]]
