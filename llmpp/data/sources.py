"""Raw sentence pairs of a task, streamed: the synthetic generator, local text files, HF datasets.

The WMT tasks follow HAT's setup (which newstest sets are valid/test is written in
``conf/task/<task>.yaml``). A task reads either local raw text files — fairseq's
layout ``<data_dir>/{train,valid,test}.{src,tgt}``, one sentence per line — or the
Hugging Face ``datasets`` hub, whose WMT rows are ``{"translation": {lang: text}}``.

Every reader is a generator, so a corpus of tens of millions of pairs is never held
in memory: the builder (``llmpp.data.build``) writes pairs to disk as they come.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from llmpp.data.synthetic import synthetic_split_iters
from llmpp.errors import ConfigError, DataNotFoundError

SPLITS = ("train", "valid", "test")
Pair = tuple[str, str]
Pairs = list[Pair]


def _clean(text: Any) -> str:
    # One sentence per line on disk: an embedded newline would misalign the sides.
    return " ".join(str(text).split("\n")).strip()


def _cap(pairs: Iterator[Pair], limit: Any) -> Iterator[Pair]:
    return pairs if limit in (None, 0) else itertools.islice(pairs, int(limit))


def iter_local(data_dir: str | Path, src: str, tgt: str, split: str) -> Iterator[Pair]:
    """Stream one split from ``<data_dir>/<split>.<src>`` and ``.<tgt>`` (aligned lines)."""
    root = Path(data_dir).expanduser()
    paths = [root / f"{split}.{src}", root / f"{split}.{tgt}"]
    for path in paths:
        if not path.is_file():
            raise DataNotFoundError(
                f"{path} does not exist; task.data.data_dir needs {split}.{src} and {split}.{tgt}"
            )
    counts = [0, 0]
    with open(paths[0], encoding="utf-8") as fs, open(paths[1], encoding="utf-8") as ft:
        for s, t in itertools.zip_longest(fs, ft):
            counts[0] += s is not None
            counts[1] += t is not None
            if s is not None and t is not None:
                yield s.strip(), t.strip()
    if counts[0] != counts[1]:
        raise DataNotFoundError(
            f"{paths[0]} has {counts[0]} lines but {paths[1]} has {counts[1]}; they must align"
        )


def read_local(data_dir: str | Path, src: str, tgt: str, split: str) -> Pairs:
    """One split of local text files as a list (small files; the builder streams)."""
    return list(iter_local(data_dir, src, tgt, split))


def iter_hf(spec: Mapping[str, Any], src: str, tgt: str) -> Iterator[Pair]:
    """Stream one split through ``datasets.load_dataset(**spec)``.

    A regular dataset is Arrow-backed and memory-mapped by ``datasets`` itself;
    ``streaming: true`` in the spec reads the hub without a local copy.
    """
    import datasets

    kwargs = dict(spec)
    if "path" not in kwargs:
        raise ConfigError("task.data.hf.<split> needs a 'path' (e.g. wmt/wmt14)")
    try:
        rows = datasets.load_dataset(**kwargs)
    except (FileNotFoundError, ConnectionError, ValueError) as exc:
        raise DataNotFoundError(
            f"could not load {kwargs.get('path')} ({' '.join(str(exc).split())[:200]}); "
            "check the network/HF cache or set task.data.data_dir to local text files"
        ) from None
    for row in rows:
        pair = row["translation"] if "translation" in row else row
        yield _clean(pair[src]), _clean(pair[tgt])


def read_hf(spec: Mapping[str, Any], src: str, tgt: str) -> Pairs:
    """One HF split as a list (small splits; the builder streams)."""
    return list(iter_hf(spec, src, tgt))


def _languages(task_cfg: Mapping[str, Any]) -> tuple[str, str]:
    return str(task_cfg.get("source_lang", "en")), str(task_cfg.get("target_lang", "de"))


def _data_block(task_cfg: Mapping[str, Any]) -> Mapping[str, Any]:
    data = task_cfg.get("data")
    if not data:
        raise ConfigError(f"task {task_cfg.get('name')} has no data block; it cannot be trained on")
    kind = str(data.get("kind", "wmt"))
    if kind == "fairseq":  # read in place (llmpp.data.fairseq), never built from pairs
        raise ConfigError("task.data.kind=fairseq is read in place; it has no pairs to build")
    if kind not in ("synthetic", "wmt"):
        raise ConfigError(f"task.data.kind={kind!r} is unknown; use synthetic, wmt or fairseq")
    return data


def iter_splits(task_cfg: Mapping[str, Any]) -> Iterator[tuple[str, Iterator[Pair]]]:
    """``(split, pair stream)`` for train, valid and test, in that order.

    The streams must be consumed in order (the synthetic generator keeps valid and
    test disjoint from the training sentences it has produced).
    """
    data = _data_block(task_cfg)
    src, tgt = _languages(task_cfg)
    if str(data.get("kind", "wmt")) == "synthetic":
        sizes = {s: int(data["sizes"][s]) for s in SPLITS}
        yield from synthetic_split_iters(
            sizes,
            int(data.get("seed", 0)),
            min_len=int(data.get("min_len", 5)),
            max_len=int(data.get("max_len", 40)),
        )
        return
    limits = data.get("max_pairs") or {}
    if data.get("data_dir"):
        for s in SPLITS:
            yield s, _cap(iter_local(data["data_dir"], src, tgt, s), limits.get(s))
        return
    hf = data.get("hf") or {}
    missing = [s for s in SPLITS if s not in hf]
    if missing:
        raise ConfigError(f"task.data.hf has no {missing[0]!r} split and no data_dir is set")
    for s in SPLITS:
        yield s, _cap(iter_hf(hf[s], src, tgt), limits.get(s))


def load_pairs(task_cfg: Mapping[str, Any]) -> dict[str, Pairs]:
    """Train/valid/test pairs of a task as lists (small corpora, tests, the benchmark)."""
    return {split: list(pairs) for split, pairs in iter_splits(task_cfg)}
