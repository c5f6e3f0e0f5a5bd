"""Features a latency model reads: HAT's normalised 10 values, or analytic costs.

``hat``: the search space's 10-dim encoding (each value divided by its largest
choice) — what HAT's latency MLP reads. ``analytic``: the work one translation of
the reference input does, split where a CPU spends its time: per-layer operator
overhead (layer counts; small models are dominated by it), encoder and decoder
multiply-adds, the output projection over the vocabulary, the beam's cache
reordering and cross-attention memory concatenations. Latency is close to a
non-negative sum of these, so a linear model on them needs few measurements.
``hat_raw``: HAT's 10 values unnormalised, as HAT's released CSVs hold them; the
models fitted on that data scale them themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from llmpp.errors import ConfigError
from llmpp.hardware.hat_released import hat_raw_features
from llmpp.hardware.measure import MeasureConfig
from llmpp.metrics.efficiency import attended_encoder_layers
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace

ANALYTIC_NAMES = (
    "encoder_layers",
    "encoder_gmacs",
    "decoder_layer_steps",
    "decoder_gmacs",
    "projection_gmacs",
    "reorder_melems",
    "memory_concats",
)
FEATURE_KINDS = ("hat", "fine", "analytic", "hat_raw")


def analytic_features(
    arch: Architecture, *, vocab_size: int, qkv_dim: int, measure: MeasureConfig
) -> np.ndarray:
    """The ``ANALYTIC_NAMES`` costs of translating the reference input with ``arch``."""
    n, m, b, q = measure.src_len, measure.tgt_len, measure.beam, qkv_dim
    e, d = arch.encoder_embed_dim, arch.decoder_embed_dim
    enc = sum(4 * n * e * q + 2 * n * n * q + 2 * n * e * f for f in arch.encoder_ffn_embed_dim)
    past = m * (m + 1) / 2  # self-attention keys summed over the decoding steps
    dec = 0.0
    reorder = 0.0
    for f, arbitrary in zip(arch.decoder_ffn_embed_dim, arch.decoder_arbitrary_ende_attn,
                            strict=True):
        source = n * attended_encoder_layers(arbitrary)
        dec += b * m * (4 * d * q + 2 * d * q + 2 * d * f)  # self q/k/v/out, cross q/out, ffn
        dec += b * 2 * past * q + b * m * 2 * source * q  # attention scores and sums
        dec += b * 2 * source * e * q  # cross keys/values, once
        if b > 1:  # every step copies the kept beams' self and cross caches
            reorder += 2 * b * q * (past + m * source)
    memories = len({a for a in arch.decoder_arbitrary_ende_attn if a != -1})
    return np.asarray(
        [
            arch.encoder_layer_num,
            enc / 1e9,
            arch.decoder_layer_num * m,
            dec / 1e9,
            b * m * d * vocab_size / 1e9,
            reorder / 1e6,
            memories,
        ],
        dtype=np.float64,
    )


def encode_features(
    archs: Sequence[Architecture],
    kind: str,
    *,
    space: SearchSpace,
    vocab_size: int,
    measure: MeasureConfig,
) -> np.ndarray:
    """Stack the ``kind`` features of ``archs`` (``[len(archs), dim]``, float64)."""
    if kind not in FEATURE_KINDS:
        raise ConfigError(f"unknown latency feature kind {kind!r}; use one of {FEATURE_KINDS}")
    if kind == "hat_raw":  # HAT's released data and predictors: features unnormalised
        return hat_raw_features(list(archs))
    if kind in ("hat", "fine"):
        return np.asarray(space.encode(list(archs), kind), dtype=np.float64).reshape(len(archs), -1)
    rows = [
        analytic_features(a, vocab_size=vocab_size, qkv_dim=space.qkv_dim, measure=measure)
        for a in archs
    ]
    return np.stack(rows) if rows else np.zeros((0, len(ANALYTIC_NAMES)))
