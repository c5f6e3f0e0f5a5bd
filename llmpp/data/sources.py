"""Raw sentence pairs of a task: the synthetic generator, local text files, or HF datasets.

The WMT tasks follow HAT's setup (which newstest sets are valid/test is written in
``conf/task/<task>.yaml``). A task reads either local raw text files — fairseq's
layout ``<data_dir>/{train,valid,test}.{src,tgt}``, one sentence per line — or the
Hugging Face ``datasets`` hub, whose WMT rows are ``{"translation": {lang: text}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmpp.data.synthetic import synthetic_splits
from llmpp.errors import ConfigError, DataNotFoundError

SPLITS = ("train", "valid", "test")
Pairs = list[tuple[str, str]]


def _cap(pairs: Pairs, limit: Any) -> Pairs:
    return pairs if limit in (None, 0) else pairs[: int(limit)]


def read_local(data_dir: str | Path, src: str, tgt: str, split: str) -> Pairs:
    """One split from ``<data_dir>/<split>.<src>`` and ``.<tgt>`` (aligned lines)."""
    root = Path(data_dir).expanduser()
    paths = [root / f"{split}.{src}", root / f"{split}.{tgt}"]
    for path in paths:
        if not path.is_file():
            raise DataNotFoundError(
                f"{path} does not exist; task.data.data_dir needs {split}.{src} and {split}.{tgt}"
            )
    source = paths[0].read_text(encoding="utf-8").splitlines()
    target = paths[1].read_text(encoding="utf-8").splitlines()
    if len(source) != len(target):
        raise DataNotFoundError(
            f"{paths[0]} has {len(source)} lines but {paths[1]} has {len(target)}; they must align"
        )
    return [(s.strip(), t.strip()) for s, t in zip(source, target, strict=True)]


def read_hf(spec: Mapping[str, Any], src: str, tgt: str) -> Pairs:
    """One split through ``datasets.load_dataset(**spec)`` (rows with a ``translation`` dict)."""
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
    pairs = []
    for row in rows:
        pair = row["translation"] if "translation" in row else row
        pairs.append((str(pair[src]).strip(), str(pair[tgt]).strip()))
    return pairs


def load_pairs(task_cfg: Mapping[str, Any]) -> dict[str, Pairs]:
    """Train/valid/test pairs of a task according to its ``data`` block."""
    data = task_cfg.get("data")
    if not data:
        raise ConfigError(f"task {task_cfg.get('name')} has no data block; it cannot be trained on")
    src, tgt = str(task_cfg.get("source_lang", "en")), str(task_cfg.get("target_lang", "de"))
    kind = str(data.get("kind", "wmt"))
    if kind == "synthetic":
        sizes = {s: int(data["sizes"][s]) for s in SPLITS}
        return synthetic_splits(
            sizes,
            int(data.get("seed", 0)),
            min_len=int(data.get("min_len", 5)),
            max_len=int(data.get("max_len", 40)),
        )
    if kind != "wmt":
        raise ConfigError(f"task.data.kind={kind!r} is unknown; use synthetic or wmt")
    limits = data.get("max_pairs") or {}
    if data.get("data_dir"):
        return {s: _cap(read_local(data["data_dir"], src, tgt, s), limits.get(s)) for s in SPLITS}
    hf = data.get("hf") or {}
    missing = [s for s in SPLITS if s not in hf]
    if missing:
        raise ConfigError(f"task.data.hf has no {missing[0]!r} split and no data_dir is set")
    return {s: _cap(read_hf(hf[s], src, tgt), limits.get(s)) for s in SPLITS}
