"""Reading and writing teacher labels (labels.jsonl)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from llmpp.errors import CorruptFileError, DataNotFoundError, InvalidArchitectureError
from llmpp.labels.format import label_row, read_labels, write_labels


def test_distill_labels_skip_and_count_failures(mini_space, mini_labels_file):
    labels = read_labels(mini_labels_file, mini_space)
    assert labels.rows == 2000
    assert labels.failures == 20  # every 100th row of the fixture is a failure
    assert len(labels.archs) == len(labels.targets) == 1980
    assert np.isfinite(labels.targets).all()
    assert labels.provenance["model"] == {"f": 1980}
    assert len(labels.provenance["sha256"]) == 64


def test_distill_labels_seed_filter(tmp_path, mini_space):
    archs = mini_space.sample(np.random.default_rng(0), 6)
    rows = [
        label_row(a, 1.0 + i, backend="b", model="m", task="t", seed=123 if i % 2 else 456)
        for i, a in enumerate(archs)
    ]
    write_labels(tmp_path / "l.jsonl", rows)
    labels = read_labels(tmp_path / "l.jsonl", mini_space, seed=123)
    assert len(labels.archs) == 3 and labels.filtered == 3
    assert labels.targets.tolist() == [2.0, 4.0, 6.0]


def test_distill_labels_bad_files(tmp_path, mini_space, paper_space):
    with pytest.raises(DataNotFoundError, match="llmpp label"):
        read_labels(tmp_path / "missing.jsonl", mini_space)
    good = label_row(mini_space.largest(), 25.0, backend="b", model="m", task="t", seed=1)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(CorruptFileError, match="bad.jsonl:2"):
        read_labels(bad, mini_space)
    other = tmp_path / "other.jsonl"
    row = label_row(paper_space.largest(), 25.0, backend="b", model="m", task="t", seed=1)
    other.write_text(json.dumps(row) + "\n")
    with pytest.raises(InvalidArchitectureError, match="another space"):
        read_labels(other, mini_space)
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(json.dumps({**row, "prediction": "high"}) + "\n")
    with pytest.raises(CorruptFileError, match="not a number"):
        read_labels(wrong, paper_space)
