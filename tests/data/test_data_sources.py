"""Raw pair sources: local text files and HF-format rows, read as streams."""

import json

import pytest

from llmpp.data.sources import iter_local, load_pairs, read_local
from llmpp.errors import ConfigError, DataNotFoundError
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
    cfg.data.max_pairs = {"train": 1, "valid": None, "test": 0}
    pairs = load_pairs(cfg)
    assert pairs["valid"] == PAIRS and pairs["test"] == PAIRS
    assert pairs["train"] == PAIRS[:1]


def test_local_files_misaligned_or_missing(tmp_path):
    _write_local(tmp_path, PAIRS)
    (tmp_path / "valid.de").write_text("only one line\n")
    with pytest.raises(DataNotFoundError, match="has 2 lines but .* has 1; they must align"):
        read_local(tmp_path, "en", "de", "valid")
    with pytest.raises(DataNotFoundError, match="test.en"):
        read_local(tmp_path / "nowhere", "en", "de", "test")


def test_local_reader_is_a_stream(tmp_path):
    _write_local(tmp_path, PAIRS)
    stream = iter_local(tmp_path, "en", "de", "train")
    assert next(stream) == PAIRS[0]  # a generator: nothing read beyond what is asked


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


def test_unknown_kind_and_missing_hf_split_are_config_errors():
    cfg = load_task_config("wmt14_en_de")
    cfg.data.kind = "parquet"
    with pytest.raises(ConfigError, match="kind='parquet'"):
        load_pairs(cfg)
    cfg = load_task_config("wmt14_en_de")
    del cfg.data.hf["test"]
    with pytest.raises(ConfigError, match="'test' split"):
        load_pairs(cfg)
