"""The authors' task examples: sentence pairs drawn from a task's training split.

The paper's scorer seeds Python's ``random`` with the protocol seed (123, 456, 789),
draws row indices uniformly from the whole training split until it has ``count``
distinct ones, and shows those rows in index order. Reproducing that draw needs
the training split's length and random access to it, so the pairs come from data on
disk — the synthetic generator, ``task.data.data_dir`` text files, or a Hugging
Face dataset already in the local cache — and are cached per task, seed and count
(a 4.5M-line split is read once). Without the data the caller gets a one-line
``DataNotFoundError`` instead of a silently empty slot.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from llmpp.errors import DataNotFoundError
from llmpp.utils.io import write_json
from llmpp.utils.paths import cache_dir

log = logging.getLogger(__name__)
Pair = tuple[str, str]


def protocol_indices(n_rows: int, count: int, seed: int) -> list[int]:
    """The authors' draw: seeded ``randint`` over all rows until ``count`` distinct, sorted."""
    if n_rows < count:
        raise DataNotFoundError(
            f"the training split has {n_rows} pairs; the prompt needs {count} task examples"
        )
    rng = random.Random(seed)  # what random.seed(seed) sets up, without global state
    chosen: set[int] = set()
    while len(chosen) < count:
        chosen.add(rng.randint(0, n_rows - 1))
    return sorted(chosen)


def format_examples(pairs: Sequence[Pair]) -> str:
    """``Example i:`` / ``Input:`` / ``Output:`` blocks separated by blank lines."""
    blocks = [f"Example {i}:\nInput: {s}\nOutput: {t}" for i, (s, t) in enumerate(pairs, 1)]
    return "\n\n".join(blocks).strip()


def sample_task_examples(task_cfg: Mapping[str, Any], count: int, seed: int) -> list[Pair]:
    """``count`` training pairs of the task drawn with the authors' protocol (cached)."""
    data = dict(task_cfg.get("data") or {})
    name = str(task_cfg.get("name"))
    path = _cache_path(task_cfg, count, seed)
    if path.is_file():
        return [tuple(p) for p in json.loads(path.read_text(encoding="utf-8"))["pairs"]]
    src, tgt = str(task_cfg.get("source_lang", "en")), str(task_cfg.get("target_lang", "de"))
    if str(data.get("kind")) == "synthetic":
        pairs = _synthetic(data, count, seed)
    elif data.get("data_dir"):
        pairs = _local(Path(str(data["data_dir"])).expanduser(), src, tgt, count, seed, name)
    else:
        pairs = _hf(data, src, tgt, count, seed, name)
    write_json(path, {"task": name, "seed": seed, "count": count, "pairs": pairs})
    return pairs


def _cache_path(task_cfg: Mapping[str, Any], count: int, seed: int) -> Path:
    from llmpp.data.corpus import fingerprint

    name = str(task_cfg.get("name"))
    return cache_dir() / "task_examples" / name / f"{fingerprint(task_cfg)}-s{seed}-n{count}.json"


def _synthetic(data: Mapping[str, Any], count: int, seed: int) -> list[Pair]:
    from llmpp.data.synthetic import synthetic_split_iters

    sizes = {k: int(v) for k, v in dict(data.get("sizes") or {}).items()}
    lengths = {"min_len": int(data.get("min_len", 5)), "max_len": int(data.get("max_len", 40))}
    split, stream = next(iter(synthetic_split_iters(sizes, int(data.get("seed", 0)), **lengths)))
    train = list(stream)  # the train split comes first; small enough to hold
    return [train[i] for i in protocol_indices(len(train), count, seed)]


def _local(root: Path, src: str, tgt: str, count: int, seed: int, name: str) -> list[Pair]:
    paths = [root / f"train.{src}", root / f"train.{tgt}"]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DataNotFoundError(
            f"task examples for {name} need the training split: {missing[0]} does not "
            "exist (task.data.data_dir needs train.<src>/train.<tgt>)"
        )
    with open(paths[0], encoding="utf-8") as handle:
        n_rows = sum(1 for _ in handle)
    wanted = protocol_indices(n_rows, count, seed)
    sides = [_lines_at(p, wanted) for p in paths]
    return list(zip(sides[0], sides[1], strict=True))


def _lines_at(path: Path, rows: Sequence[int]) -> list[str]:
    """The lines at sorted indices ``rows``, read in one pass."""
    wanted, out = set(rows), []
    with open(path, encoding="utf-8") as handle:
        for i, line in enumerate(handle):
            if i in wanted:
                out.append(line.rstrip("\r\n"))
                if len(out) == len(wanted):
                    break
    return out


def _hf(
    data: Mapping[str, Any], src: str, tgt: str, count: int, seed: int, name: str
) -> list[Pair]:
    spec = dict((data.get("hf") or {}).get("train") or {})
    if not spec.get("path"):
        raise DataNotFoundError(
            f"task examples for {name}: no training split configured; set "
            "task.data.data_dir=<dir with train.<src>/train.<tgt>> or prompt.task_examples=0"
        )
    import datasets

    try:
        rows = datasets.load_dataset(**spec)
    except Exception as exc:  # any failure here means "not on disk": say so in one line
        raise DataNotFoundError(
            f"task examples for {name} need the training split {spec['path']} "
            f"({spec.get('name')}) on disk and it could not be loaded "
            f"({type(exc).__name__}); set task.data.data_dir=<local text files> or "
            "prompt.task_examples=0"
        ) from None
    picked = [rows[i] for i in protocol_indices(len(rows), count, seed)]
    pairs = [row.get("translation", row) for row in picked]
    return [(str(p[src]), str(p[tgt])) for p in pairs]
