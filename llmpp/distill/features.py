"""Vectorised feature rows for many architectures at once.

``SearchSpace.encode`` is the reference encoding (one architecture at a time, in
Python); Distill-PP scores tens of thousands of architectures per call, so this
module builds the same ``hat`` and ``fine`` rows with numpy: each per-layer field is
flattened once, mapped through a lookup table built from the space's own
normalisation, then averaged (``hat``) or scattered into padded columns (``fine``).
Tests check that both paths agree.

``authors`` is ``hat`` with the arbitrary attention encoded as the authors'
``bleu_predictor.py`` does it, ``(1 + mean of the raw values) / 3`` (-1 -> 0, 1 -> 2/3,
2 -> 1); ``hat`` (llmpp's option) encodes the count of attended encoder layers / 3
(-1 -> 1/3). The other nine values are the same (each / the space's largest choice,
which for HAT's space are the authors' divisors 640, 6, 3072, 8).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from operator import attrgetter

import numpy as np

from llmpp.errors import ConfigError
from llmpp.space.architecture import (
    ARCH_FIELDS,
    DECODER_LAYER_FIELDS,
    ENCODER_LAYER_FIELDS,
    SCALAR_FIELDS,
    Architecture,
)
from llmpp.space.search_space import SearchSpace

FEATURE_KINDS = ("hat", "fine", "authors")
ARBITRARY = "decoder_arbitrary_ende_attn"
DEPTH_OF = {f: "encoder_layer_num" for f in ENCODER_LAYER_FIELDS} | {
    f: "decoder_layer_num" for f in DECODER_LAYER_FIELDS
}
_ALL_FIELDS = attrgetter(*ARCH_FIELDS)


class FeatureEncoder:
    """Encode architectures of one space into ``hat`` (10-dim) or ``fine`` rows.

    Args:
        space: the search space whose normalisation defines the features.
        kind: ``hat`` (HAT's 10 values, per-layer fields averaged), ``authors`` (the
            same with the authors' arbitrary-attention encoding) or ``fine`` (every
            layer's value, zeros for inactive layers).
    """

    def __init__(self, space: SearchSpace, kind: str = "hat") -> None:
        if kind not in FEATURE_KINDS:
            raise ConfigError(
                f"unknown feature kind {kind!r}; use one of: {', '.join(FEATURE_KINDS)}"
            )
        self.space = space
        self.kind = kind
        # value -> normalised value, per field, from the space's own normalisation.
        self._tables = {field: self._table(field) for field in ARCH_FIELDS}
        self.dim = self._dim()

    def _table(self, field: str) -> tuple[np.ndarray, np.ndarray]:
        values = np.asarray(sorted(self.space.choices[field]), dtype=np.int64)
        if field == ARBITRARY and self.kind == "authors":  # (1 + raw) / 3, averaged
            return values, (1.0 + values.astype(np.float64)) / 3.0
        normed = np.asarray([self.space.normalise(field, int(v)) for v in values], dtype=np.float64)
        return values, normed

    def _dim(self) -> int:
        if self.kind in ("hat", "authors"):
            return len(ARCH_FIELDS)
        depth = {
            "encoder_layer_num": self.space.max_encoder_layers,
            "decoder_layer_num": self.space.max_decoder_layers,
        }
        return len(SCALAR_FIELDS) + sum(depth[DEPTH_OF[f]] for f in DEPTH_OF)

    def _lookup(self, field: str, raw: np.ndarray) -> np.ndarray:
        values, normed = self._tables[field]
        index = np.clip(np.searchsorted(values, raw), 0, len(values) - 1)
        if len(raw) and not np.array_equal(values[index], raw):
            bad = int(raw[values[index] != raw][0])
            raise ConfigError(
                f"{field} = {bad} is not in space {self.space.name}; validate architectures "
                "against the space the Distill-PP checkpoint was trained on"
            )
        return normed[index]

    def encode(self, archs: Sequence[Architecture]) -> np.ndarray:
        """A float32 matrix with one row per architecture (``space.encode`` equivalent)."""
        n = len(archs)
        out = np.zeros((n, self.dim), dtype=np.float64)
        if n == 0:
            return out.astype(np.float32)
        # One C-level getter per architecture, then a transpose: one tuple per field.
        columns = dict(zip(ARCH_FIELDS, zip(*map(_ALL_FIELDS, archs), strict=True), strict=True))
        depths = {
            d: np.fromiter(columns[d], dtype=np.int64, count=n)
            for d in ("encoder_layer_num", "decoder_layer_num")
        }
        column = 0
        for field in ARCH_FIELDS:
            if field in SCALAR_FIELDS:
                raw = depths.get(field)
                if raw is None:
                    raw = np.fromiter(columns[field], dtype=np.int64, count=n)
                out[:, column] = self._lookup(field, raw)
                column += 1
                continue
            lengths = depths[DEPTH_OF[field]]
            flat = np.fromiter(
                chain.from_iterable(columns[field]), dtype=np.int64, count=int(lengths.sum())
            )
            column = self._place(out, column, self._lookup(field, flat), lengths, DEPTH_OF[field])
        return out.astype(np.float32)

    def _place(
        self, out: np.ndarray, column: int, normed: np.ndarray, lengths: np.ndarray, depth: str
    ) -> int:
        """Write one per-layer field into ``out`` from ``column``; returns the next column."""
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        if self.kind in ("hat", "authors"):
            out[:, column] = np.add.reduceat(normed, starts) / lengths
            return column + 1
        width = (
            self.space.max_encoder_layers
            if depth == "encoder_layer_num"
            else self.space.max_decoder_layers
        )
        rows = np.repeat(np.arange(len(lengths)), lengths)
        layer = np.arange(len(normed)) - np.repeat(starts, lengths)
        out[rows, column + layer] = normed
        return column + width
