"""The on-disk format of one corpus split: flat token arrays plus an offsets index.

Per split and side (``src``/``tgt``) there are two raw little-endian files:

* ``<split>.<side>.bin`` — every sentence's token ids back to back, in the smallest
  unsigned type that holds the vocabulary (16-bit up to 65,536 pieces);
* ``<split>.<side>.idx`` — int64 offsets, ``n + 1`` of them: sentence ``i`` is
  ``bin[idx[i]:idx[i + 1]]``.

Both are opened with ``numpy.memmap``: opening costs the same for 1,000 or 40M
pairs, nothing is copied into the process, and every DDP rank and DataLoader worker
reads the same OS page cache. The writer appends chunk by chunk, so building needs
memory for one chunk, not the corpus. ``meta.json`` (written last by the builder)
records dtypes and counts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

SIDES = ("src", "tgt")
_CHUNK = 1 << 20  # pairs per step when a whole split's lengths are scanned


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned integer type that holds ids ``0 .. vocab_size - 1``."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if vocab_size <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


@dataclass
class PackedPairs:
    """A batch of pairs as flat arrays: ids back to back plus each sentence's length."""

    src: np.ndarray
    src_lengths: np.ndarray
    tgt: np.ndarray
    tgt_lengths: np.ndarray

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[Sequence[int], Sequence[int]]]) -> PackedPairs:
        sides = []
        for k in (0, 1):
            rows = [np.asarray(pair[k], dtype=np.int64) for pair in pairs]
            lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
            sides += [np.concatenate(rows) if rows else np.zeros(0, np.int64), lengths]
        return cls(*sides)

    def __len__(self) -> int:
        return len(self.src_lengths)


class SplitWriter:
    """Appends encoded sentences of one split to its ``.bin``/``.idx`` files."""

    def __init__(self, root: Path, split: str, dtype: np.dtype) -> None:
        self.dtype = np.dtype(dtype)
        self.pairs = 0
        self.tokens = {side: 0 for side in SIDES}
        self._files: dict[str, tuple[BinaryIO, BinaryIO]] = {}
        for side in SIDES:
            tokens = open(root / f"{split}.{side}.bin", "wb")  # noqa: SIM115 - closed in close()
            index = open(root / f"{split}.{side}.idx", "wb")  # noqa: SIM115
            index.write(np.zeros(1, dtype=np.int64).tobytes())
            self._files[side] = (tokens, index)

    def append(self, side: str, flat: np.ndarray, lengths: np.ndarray) -> None:
        """Write one chunk of sentences of one side: their ids back to back and lengths."""
        tokens, index = self._files[side]
        tokens.write(np.ascontiguousarray(flat, dtype=self.dtype).tobytes())
        offsets = self.tokens[side] + np.cumsum(lengths, dtype=np.int64)
        index.write(offsets.tobytes())
        if len(offsets):
            self.tokens[side] = int(offsets[-1])
        if side == "src":
            self.pairs += len(lengths)

    def close(self) -> dict[str, Any]:
        """Flush to disk (fsync: the folder is renamed into place next) and return counts."""
        for tokens, index in self._files.values():
            for handle in (tokens, index):
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
        return {
            "pairs": self.pairs,
            "src_tokens": self.tokens["src"],
            "tgt_tokens": self.tokens["tgt"],
        }


class BinarizedSplit:
    """Zero-copy, index-addressable pairs of one split (a map-style torch Dataset).

    Items are ``(source ids, target ids)`` as numpy views into the memory map. The
    object pickles as its paths (not its data), so DataLoader workers reopen the
    same files instead of receiving a copy.

    Args:
        root: the corpus folder.
        split: ``train``, ``valid`` or ``test``.
        dtype: the token dtype recorded in ``meta.json``.
        limit: expose only the first ``limit`` pairs (None = all).
    """

    def __init__(self, root: Path, split: str, dtype: str, limit: int | None = None) -> None:
        self.root, self.split, self.dtype, self.limit = Path(root), split, str(dtype), limit
        self._maps: dict[str, tuple[np.ndarray, np.ndarray]] | None = None

    def _open(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if self._maps is None:
            maps = {}
            for side in SIDES:
                tokens = self._memmap(f"{self.split}.{side}.bin", self.dtype)
                index = self._memmap(f"{self.split}.{side}.idx", "int64")
                maps[side] = (tokens, index)
            self._maps = maps
        return self._maps

    def _memmap(self, name: str, dtype: str) -> np.ndarray:
        path = self.root / name
        if path.stat().st_size == 0:  # numpy cannot map an empty file
            return np.zeros(0, dtype=dtype)
        return np.memmap(path, dtype=dtype, mode="r")

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_maps": None}

    def __len__(self) -> int:
        total = len(self._open()["src"][1]) - 1
        return total if self.limit is None else min(total, int(self.limit))

    def head(self, limit: int | None) -> BinarizedSplit:
        """The same split restricted to its first ``limit`` pairs."""
        return BinarizedSplit(self.root, self.split, self.dtype, limit)

    def lengths(self, side: str) -> np.ndarray:
        """Token count of every sentence of one side (int64, ``len(self)`` values)."""
        index = self._open()[side][1]
        return np.diff(index[: len(self) + 1])

    def costs(self) -> np.ndarray:
        """Padded cost of each pair: the longer side plus its EOS/BOS (int32).

        Computed a chunk at a time: every rank holds 4 bytes a pair, not the int64
        temporaries of whole-split differences.
        """
        n, maps = len(self), self._open()
        out = np.empty(n, dtype=np.int32)
        for start in range(0, n, _CHUNK):
            stop = min(n, start + _CHUNK)
            src, tgt = (np.diff(maps[side][1][start : stop + 1]) for side in SIDES)
            np.add(np.maximum(src, tgt), 1, out=out[start:stop], casting="unsafe")
        return out

    def side(self, side: str, i: int) -> np.ndarray:
        tokens, index = self._open()[side]
        return tokens[index[i] : index[i + 1]]

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self.side("src", i), self.side("tgt", i)

    def __getitems__(self, indices: Sequence[int]):
        """A whole batch at once (the DataLoader calls this once per batch), packed flat.

        One vectorised gather per side instead of a slice per sentence: the
        positions of every token of the batch are built from the offsets index.
        """
        rows = np.asarray(indices, dtype=np.int64)
        sides = []
        for side in SIDES:
            tokens, index = self._open()[side]
            starts, ends = index[rows], index[rows + 1]
            lengths = ends - starts
            first = np.cumsum(lengths) - lengths  # where each sentence starts in the output
            positions = np.repeat(starts - first, lengths) + np.arange(int(lengths.sum()))
            sides += [np.asarray(tokens[positions], dtype=np.int64), lengths]
        return PackedPairs(*sides)
