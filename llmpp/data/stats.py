"""Statistics of a built corpus, for ``llmpp data`` (what was built, and is it sane)."""

from __future__ import annotations

from typing import Any

import numpy as np

from llmpp.data.binarized import SIDES
from llmpp.data.build import UNK
from llmpp.data.corpus import Corpus

PERCENTILES = (50, 90, 99, 100)
_COUNT_CHUNK = 1 << 24  # tokens per bincount pass: bounded memory on any corpus size


def _token_counts(corpus: Corpus, split: str) -> np.ndarray:
    """How often each vocabulary id occurs in a split (both sides), read chunk by chunk."""
    counts = np.zeros(corpus.vocab_size, dtype=np.int64)
    for side in SIDES:
        path = corpus.root / f"{split}.{side}.bin"
        if path.stat().st_size == 0:
            continue
        tokens = np.memmap(path, dtype=corpus.meta["dtype"], mode="r")
        for start in range(0, len(tokens), _COUNT_CHUNK):
            chunk = tokens[start : start + _COUNT_CHUNK]
            counts += np.bincount(chunk, minlength=corpus.vocab_size)[: corpus.vocab_size]
    return counts


def split_stats(corpus: Corpus, split: str) -> dict[str, Any]:
    """Pairs, tokens, length percentiles and unknown-piece rate of one split."""
    data = corpus.split(split)
    out: dict[str, Any] = {"pairs": len(data)}
    counts = _token_counts(corpus, split)
    total = int(counts.sum())
    for side in SIDES:
        lengths = data.lengths(side)
        out[f"{side}_tokens"] = int(lengths.sum())
        if len(lengths):
            values = np.percentile(lengths, PERCENTILES)
            out[f"{side}_length_percentiles"] = {
                f"p{p}": float(v) for p, v in zip(PERCENTILES, values, strict=True)
            }
    out["unk_rate"] = float(counts[UNK] / total) if total else 0.0
    out["vocab_used"] = int((counts > 0).sum())
    return out


def corpus_stats(corpus: Corpus) -> dict[str, Any]:
    """Every split's statistics, vocabulary coverage, bytes on disk and build time."""
    splits = {name: split_stats(corpus, name) for name in corpus.meta["splits"]}
    files = [p for p in corpus.root.iterdir() if p.is_file()]
    disk = sum(p.stat().st_size for p in files)
    arrays = sum(p.stat().st_size for p in files if p.suffix in (".bin", ".idx"))
    tokens = sum(s["src_tokens"] + s["tgt_tokens"] for s in splits.values())
    train = splits.get("train", {})
    return {
        "root": str(corpus.root),
        "vocab_size": corpus.vocab_size,
        "token_dtype": corpus.meta["dtype"],
        # Coverage: the share of the vocabulary that the training data actually uses.
        "vocab_coverage": train.get("vocab_used", 0) / corpus.vocab_size,
        "bytes_on_disk": disk,
        "bytes_per_token": disk / tokens if tokens else None,
        # Without the fixed-size files (SentencePiece model, evaluation text, meta):
        # what grows with the corpus.
        "array_bytes_per_token": arrays / tokens if tokens else None,
        "build_seconds": corpus.meta.get("build_seconds"),
        "build_workers": corpus.meta.get("workers"),
        "splits": splits,
    }
