"""Streaming preprocessing: raw pairs -> SentencePiece -> binarized splits, in bounded memory.

1. **Spill**: each split's pairs are streamed from their source into plain text files
   (one sentence a line), so no split is ever a Python list.
2. **SentencePiece** is trained on a bounded, seeded sample of the training lines
   (``task.data.spm_sentences``), as before.
3. **Encode** in ``workers`` processes, ``chunk_pairs`` pairs per task, with at most
   two tasks per worker in flight, appending each chunk in order to the split's
   ``.bin``/``.idx`` files (``llmpp.data.binarized``). The workers end with the
   builder, however it dies (``llmpp.utils.orphans.die_with_parent``).
4. Only valid/test text stays (BLEU references and sources); ``meta.json`` is
   written last and the folder is renamed into place by the caller, so a killed
   build never looks finished.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from llmpp.data.binarized import SIDES, SplitWriter, token_dtype
from llmpp.data.sources import iter_splits
from llmpp.errors import ConfigError
from llmpp.utils.orphans import die_with_parent

PAD, UNK, BOS, EOS = 0, 1, 2, 3
FORMAT_VERSION = 2
_SPM = None  # the SentencePiece model of an encoding worker process


def spill(task_cfg: Mapping[str, Any], work: Path) -> dict[str, int]:
    """Stream every split into ``<split>.src.txt``/``.tgt.txt``; pairs per split."""
    counts = {}
    for split, pairs in iter_splits(task_cfg):
        n = 0
        with (
            open(work / f"{split}.src.txt", "w", encoding="utf-8") as fs,
            open(work / f"{split}.tgt.txt", "w", encoding="utf-8") as ft,
        ):
            for src, tgt in pairs:
                fs.write(src + "\n")
                ft.write(tgt + "\n")
                n += 1
        counts[split] = n
    if counts.get("train", 0) == 0:
        raise ConfigError(f"task {task_cfg.get('name')} has no training pairs; check task.data")
    return counts


def _lines(paths: list[Path]) -> Iterator[str]:
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            yield from handle


def spm_sample(work: Path, train_pairs: int, limit: int, seed: int) -> list[Path]:
    """The files SentencePiece trains on: all training lines, or a seeded sample of ``limit``."""
    inputs = [work / "train.src.txt", work / "train.tgt.txt"]
    total = 2 * train_pairs
    if total <= limit:
        return inputs
    # Sorted line numbers, drawn once: the sample costs 8 bytes a chosen line in memory.
    chosen = np.sort(np.random.default_rng(seed).choice(total, size=limit, replace=False))
    out = work / "spm_sample.txt"
    with open(out, "w", encoding="utf-8") as handle:
        want = iter(chosen.tolist())
        target = next(want, None)
        for number, line in enumerate(_lines(inputs)):
            if number == target:
                handle.write(line)
                target = next(want, None)
                if target is None:
                    break
    return [out]


def train_spm(inputs: list[Path], prefix: Path, vocab_size: int, data: Mapping[str, Any]) -> None:
    """Train the joint SentencePiece model (specials at fixed ids: PAD, UNK, BOS, EOS)."""
    import sentencepiece as spm

    try:
        spm.SentencePieceTrainer.train(
            input=",".join(str(p) for p in inputs),
            model_prefix=str(prefix),
            vocab_size=vocab_size,
            model_type=str(data.get("spm_model_type", "unigram")),
            character_coverage=float(data.get("spm_character_coverage", 1.0)),
            input_sentence_size=int(data.get("spm_sentences", 1_000_000)),
            shuffle_input_sentence=True,
            pad_id=PAD,
            unk_id=UNK,
            bos_id=BOS,
            eos_id=EOS,
            num_threads=max(1, min(4, os.cpu_count() or 1)),
            minloglevel=2,
        )
    except RuntimeError as exc:
        raise ConfigError(
            f"SentencePiece could not train a {vocab_size}-token vocabulary ({exc}); "
            "lower task.vocab_size or add training data"
        ) from None


def _init_worker(model_file: str, parent_pid: int | None = None) -> None:
    global _SPM
    if parent_pid is not None:  # a pool worker: a SIGKILLed builder must not leave it behind
        die_with_parent(parent_pid)
    import sentencepiece as spm

    # One thread per worker: SentencePiece's batch encode otherwise starts a thread per
    # core in every worker, and `workers` would no longer say how many cores a build uses.
    _SPM = spm.SentencePieceProcessor(model_file=model_file, num_threads=1)


def encode_lines(lines: list[str], dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """``(flat ids, lengths)`` of a chunk of sentences (run in a worker process)."""
    ids = _SPM.encode(lines)
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=dtype, count=int(lengths.sum()))
    return flat, lengths


def _chunks(work: Path, split: str, size: int) -> Iterator[tuple[list[str], list[str]]]:
    with (
        open(work / f"{split}.src.txt", encoding="utf-8") as fs,
        open(work / f"{split}.tgt.txt", encoding="utf-8") as ft,
    ):
        while True:
            src = [line.rstrip("\n") for line in itertools.islice(fs, size)]
            tgt = [line.rstrip("\n") for line in itertools.islice(ft, size)]
            if not src:
                return
            yield src, tgt


def encode_split(
    work: Path, split: str, dtype: np.dtype, pool, *, chunk_pairs: int, in_flight: int
) -> dict[str, int]:
    """Encode one spilled split into its binary files, chunk by chunk, in order.

    At most ``in_flight`` chunks are queued or being encoded at a time: the
    builder's memory is bounded by the chunk size whatever the corpus size.
    """
    writer = SplitWriter(work, split, dtype)
    pending: deque = deque()

    def drain_one() -> None:
        for side, result in zip(SIDES, pending.popleft(), strict=True):
            flat, lengths = result.get() if pool is not None else result
            writer.append(side, flat, lengths)

    for src, tgt in _chunks(work, split, chunk_pairs):
        if pool is None:
            pending.append((encode_lines(src, dtype.name), encode_lines(tgt, dtype.name)))
        else:
            pending.append(
                tuple(pool.apply_async(encode_lines, (x, dtype.name)) for x in (src, tgt))
            )
        while len(pending) >= in_flight:
            drain_one()
    while pending:
        drain_one()
    return writer.close()


def encode_all(
    work: Path, splits: list[str], dtype: np.dtype, *, workers: int, chunk_pairs: int
) -> dict[str, dict[str, int]]:
    """Encode every spilled split with ``workers`` processes; counts per split."""
    pool = None
    if workers > 1:
        pool = start_pool(workers, work / "spm.model")
    else:
        _init_worker(str(work / "spm.model"))
    try:
        return {
            split: encode_split(
                work, split, dtype, pool, chunk_pairs=chunk_pairs, in_flight=2 * workers
            )
            for split in splits
        }
    finally:
        if pool is not None:
            pool.terminate()


def start_pool(workers: int, model_file: Path):
    """``workers`` encoding processes that die with this one (see ``_init_worker``)."""
    context = multiprocessing.get_context("spawn")  # no fork of a torch/threaded parent
    return context.Pool(workers, initializer=_init_worker,
                        initargs=(str(model_file), os.getpid()))


def build_into(
    task_cfg: Mapping[str, Any], work: Path, *, workers: int, chunk_pairs: int
) -> dict[str, Any]:
    """Build the complete corpus in the empty folder ``work``; returns its meta."""
    started = time.perf_counter()
    data = task_cfg["data"]
    vocab_size = int(task_cfg["vocab_size"])
    counts = spill(task_cfg, work)
    phases = {"read": time.perf_counter() - started}
    limit = int(data.get("spm_sentences", 1_000_000))
    inputs = spm_sample(work, counts["train"], limit, int(data.get("seed", 0)))
    train_spm(inputs, work / "spm", vocab_size, data)
    (work / "spm_sample.txt").unlink(missing_ok=True)
    phases["sentencepiece"] = time.perf_counter() - started - sum(phases.values())
    dtype = token_dtype(vocab_size)
    splits = encode_all(work, list(counts), dtype, workers=workers, chunk_pairs=chunk_pairs)
    phases["encode"] = time.perf_counter() - started - sum(phases.values())
    for side in SIDES:  # the training text is not needed once encoded
        (work / f"train.{side}.txt").unlink()
    meta = {
        "format": FORMAT_VERSION,
        "dtype": dtype.name,
        "vocab_size": vocab_size,
        "splits": splits,
        "build_seconds": round(time.perf_counter() - started, 3),
        "phase_seconds": {name: round(seconds, 3) for name, seconds in phases.items()},
        "workers": workers,
        "task": dict(task_cfg),
    }
    _write_json(work / "meta.json", meta)
    return meta


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, default=str, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
