"""Parameters and FLOPs of a sub-transformer, computed in closed form.

The conventions reproduce the authors' released numbers (HAT's sub-transformer on
the paper's reference input of 30 source and 30 target tokens):

* Parameters exclude embeddings; every linear layer has a bias; each encoder layer
  has 2 LayerNorms, each decoder layer 3; no final LayerNorm (post-norm Transformer).
  Attention projects to the fixed ``qkv_dim`` whatever the head count, so heads do
  not change the parameter count. Cross-attention keys/values read the encoder
  width.
* Embedding parameters = vocabulary x decoder embedding width (the shared,
  tied output projection).
* FLOPs count a multiply-add as 2. Linear layers count their weights only.
  Attention counts QK^T and AV (2 x 2 x Lq x Lk x qkv), plus 2 x Lq x qkv for
  scaling and masking; LayerNorm and the embedding scale + positional add count
  2 per element. Arbitrary encoder-decoder attention over the last k encoder
  layers makes the keys/values k x 30 tokens long. The last layer is the output
  projection (2 x 30 x width x vocabulary).

Checked against all 90 from-scratch records of the gold data: parameter counts are
exact and FLOPs agree to within 2e-7 (a constant of under 200 FLOPs per model).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from llmpp.space.architecture import Architecture

REFERENCE_LENGTH = 30  # tokens of source and of target in the paper's FLOPs


@dataclass(frozen=True)
class Efficiency:
    """Efficiency metrics of one architecture for one vocabulary."""

    num_parameters_without_embedding_weights: int
    num_embedding_parameters: int
    total_flops: int
    last_layer_flops: int
    total_flops_without_last_layer: int

    @property
    def gflops(self) -> float:
        return self.total_flops / 1e9

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "gflops": self.gflops}


def _linear_params(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def _attention_params(query_dim: int, kv_dim: int, qkv_dim: int) -> int:
    return (
        _linear_params(query_dim, qkv_dim)  # q
        + 2 * _linear_params(kv_dim, qkv_dim)  # k, v
        + _linear_params(qkv_dim, query_dim)  # out
    )


def encoder_layer_params(embed_dim: int, ffn_dim: int, qkv_dim: int) -> int:
    attention = _attention_params(embed_dim, embed_dim, qkv_dim)
    ffn = _linear_params(embed_dim, ffn_dim) + _linear_params(ffn_dim, embed_dim)
    return attention + ffn + 2 * 2 * embed_dim


def decoder_layer_params(embed_dim: int, encoder_dim: int, ffn_dim: int, qkv_dim: int) -> int:
    self_attention = _attention_params(embed_dim, embed_dim, qkv_dim)
    cross_attention = _attention_params(embed_dim, encoder_dim, qkv_dim)
    ffn = _linear_params(embed_dim, ffn_dim) + _linear_params(ffn_dim, embed_dim)
    return self_attention + cross_attention + ffn + 3 * 2 * embed_dim


def parameters_without_embeddings(arch: Architecture, qkv_dim: int = 512) -> int:
    """Non-embedding parameters of the sub-transformer."""
    encoder = sum(
        encoder_layer_params(arch.encoder_embed_dim, ffn, qkv_dim)
        for ffn in arch.encoder_ffn_embed_dim
    )
    decoder = sum(
        decoder_layer_params(arch.decoder_embed_dim, arch.encoder_embed_dim, ffn, qkv_dim)
        for ffn in arch.decoder_ffn_embed_dim
    )
    return encoder + decoder


def _attention_flops(q_len: int, kv_len: int, query_dim: int, kv_dim: int, qkv_dim: int) -> int:
    projections = 2 * q_len * query_dim * qkv_dim * 2  # q and out
    projections += 2 * kv_len * kv_dim * qkv_dim * 2  # k and v
    scores = 2 * 2 * q_len * kv_len * qkv_dim  # QK^T and AV
    return projections + scores + 2 * q_len * qkv_dim


def attended_encoder_layers(arbitrary: int) -> int:
    """How many of the last encoder layers a cross-attention reads (-1 -> 1, k -> k+1)."""
    return 1 if arbitrary == -1 else arbitrary + 1


def flops(
    arch: Architecture, vocab_size: int, qkv_dim: int = 512, length: int = REFERENCE_LENGTH
) -> tuple[int, int]:
    """(FLOPs without the last layer, FLOPs of the output projection)."""
    e, d, n = arch.encoder_embed_dim, arch.decoder_embed_dim, length
    total = 2 * n * e  # embedding scale + positional add
    for ffn in arch.encoder_ffn_embed_dim:
        total += _attention_flops(n, n, e, e, qkv_dim)
        total += 2 * n * e * ffn * 2 + 2 * 2 * n * e
    total += 2 * n * d
    for ffn, arbitrary in zip(
        arch.decoder_ffn_embed_dim, arch.decoder_arbitrary_ende_attn, strict=True
    ):
        source_len = n * attended_encoder_layers(arbitrary)
        total += _attention_flops(n, n, d, d, qkv_dim)
        total += _attention_flops(n, source_len, d, e, qkv_dim)
        total += 2 * n * d * ffn * 2 + 3 * 2 * n * d
    last_layer = 2 * n * d * vocab_size
    return total, last_layer


def efficiency(arch: Architecture, vocab_size: int, qkv_dim: int = 512) -> Efficiency:
    """All efficiency metrics of ``arch`` for a task with ``vocab_size`` tokens."""
    body, last = flops(arch, vocab_size, qkv_dim)
    return Efficiency(
        num_parameters_without_embedding_weights=parameters_without_embeddings(arch, qkv_dim),
        num_embedding_parameters=vocab_size * arch.decoder_embed_dim,
        total_flops=body + last,
        last_layer_flops=last,
        total_flops_without_last_layer=body,
    )
