"""FLOPs and parameters of one small, lopsided architecture, counted operation by operation.

Every width differs (encoder 6, decoder 10, qkv 4, distinct FFN widths per layer,
mixed arbitrary attention), so a term that reads the wrong width, the wrong length
or a wrong factor changes the integer result; compared exactly, not to a tolerance.
"""

from __future__ import annotations

import dataclasses

import pytest

from llmpp.metrics.efficiency import (
    REFERENCE_LENGTH,
    efficiency,
    flops,
    parameters_without_embeddings,
)
from llmpp.space.architecture import Architecture

E, D, Q, V = 6, 10, 4, 13
ARCH = Architecture(
    encoder_embed_dim=E, encoder_layer_num=2, encoder_ffn_embed_dim=(7, 9),
    encoder_self_attention_heads=(2, 4), decoder_embed_dim=D, decoder_layer_num=3,
    decoder_ffn_embed_dim=(11, 5, 3), decoder_self_attention_heads=(2, 2, 4),
    decoder_ende_attention_heads=(4, 2, 2), decoder_arbitrary_ende_attn=(-1, 1, 2),
)


def attention_ops(q_len: int, kv_len: int, q_dim: int, kv_dim: int) -> int:
    """Multiply-adds x 2 of one attention block, written out per operation."""
    query = 2 * q_len * q_dim * Q
    key = 2 * kv_len * kv_dim * Q
    value = 2 * kv_len * kv_dim * Q
    out = 2 * q_len * Q * q_dim
    scores = 2 * q_len * kv_len * Q
    weighted = 2 * q_len * kv_len * Q
    scale_and_mask = 2 * q_len * Q
    return query + key + value + out + scores + weighted + scale_and_mask


def expected_flops(n: int) -> tuple[int, int]:
    total = 2 * n * E  # embedding scale + positions
    for f in ARCH.encoder_ffn_embed_dim:
        total += attention_ops(n, n, E, E)
        total += 2 * n * E * f + 2 * n * f * E  # two FFN matrices
        total += 2 * (2 * n * E)  # two LayerNorms
    total += 2 * n * D
    for f, arbitrary in zip(ARCH.decoder_ffn_embed_dim, ARCH.decoder_arbitrary_ende_attn,
                            strict=True):
        attended = {-1: 1, 1: 2, 2: 3}[arbitrary] * n
        total += attention_ops(n, n, D, D)
        total += attention_ops(n, attended, D, E)
        total += 2 * n * D * f + 2 * n * f * D
        total += 3 * (2 * n * D)
    return total, 2 * n * D * V


def test_flops_count_every_operation_exactly() -> None:
    for n in (REFERENCE_LENGTH, 7):
        assert flops(ARCH, V, Q, n) == expected_flops(n)
    body, last = expected_flops(REFERENCE_LENGTH)
    got = efficiency(ARCH, V, Q)
    assert got.total_flops == body + last
    assert (got.last_layer_flops, got.total_flops_without_last_layer) == (last, body)
    assert got.gflops == pytest.approx((body + last) / 1e9, rel=1e-12)
    assert got.as_dict()["gflops"] == got.gflops


def test_parameters_count_every_weight_exactly() -> None:
    def linear(i: int, o: int) -> int:
        return i * o + o

    def attention(q_dim: int, kv_dim: int) -> int:
        return linear(q_dim, Q) + linear(kv_dim, Q) + linear(kv_dim, Q) + linear(Q, q_dim)

    encoder = sum(attention(E, E) + linear(E, f) + linear(f, E) + 2 * 2 * E for f in (7, 9))
    decoder = sum(
        attention(D, D) + attention(D, E) + linear(D, f) + linear(f, D) + 3 * 2 * D
        for f in (11, 5, 3)
    )
    assert parameters_without_embeddings(ARCH, Q) == encoder + decoder
    got = efficiency(ARCH, V, Q)
    assert got.num_parameters_without_embedding_weights == encoder + decoder
    assert got.num_embedding_parameters == V * D


def test_heads_change_nothing_and_attention_reach_changes_only_flops() -> None:
    heads = dataclasses.replace(ARCH, decoder_self_attention_heads=(4, 4, 4),
                                encoder_self_attention_heads=(4, 4))
    assert efficiency(heads, V, Q) == efficiency(ARCH, V, Q)
    reach = dataclasses.replace(ARCH, decoder_arbitrary_ende_attn=(2, 2, 2))
    assert parameters_without_embeddings(reach, Q) == parameters_without_embeddings(ARCH, Q)
    assert flops(reach, V, Q)[0] > flops(ARCH, V, Q)[0]


def test_defaults_are_hats_qkv_and_the_reference_length() -> None:
    assert flops(ARCH, V) == flops(ARCH, V, 512, REFERENCE_LENGTH)
    assert parameters_without_embeddings(ARCH) == parameters_without_embeddings(ARCH, 512)
    assert efficiency(ARCH, V) == efficiency(ARCH, V, 512)
    assert REFERENCE_LENGTH == 30
