"""Elastic Transformer layers: one set of weights, any prefix of its widths.

A layer is built with its largest widths; ``forward`` takes the widths that are
active and uses the leading rows/columns of every weight (HAT's weight sharing). A
standalone model is the same layer built with exactly the active widths, so its
forward pass is the supernet's with no slicing at all — which is why exporting is a
plain copy of the leading blocks and the outputs agree to float rounding.

The network is post-norm (``x = LN(x + sublayer(x))``, HAT's) with ReLU feed-forward
blocks, or pre-norm with ``normalize_before`` (``x = x + sublayer(LN(x))``): llmpp's
option for deep stacks at short budgets, where post-norm learns slowly.
Attention projects queries, keys and values to the fixed ``qkv_dim`` whatever the
head count; heads only change how that width is split.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def elastic_linear(layer: nn.Linear, x: Tensor, in_dim: int, out_dim: int) -> Tensor:
    """``layer`` restricted to its first ``out_dim`` outputs and ``in_dim`` inputs."""
    weight, bias = layer.weight, layer.bias
    if out_dim != weight.shape[0]:
        weight, bias = weight[:out_dim], bias[:out_dim]
    if in_dim != weight.shape[1]:
        weight = weight[:, :in_dim]
    return F.linear(x, weight, bias)


# Uniform 16-bit draws split a dropout probability into 65,536 steps.
_LEVELS = 1 << 16


def apply_dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """``F.dropout(x, p, training)``, with a mask four times cheaper to draw on a CPU.

    On a CPU, torch's Bernoulli sampling draws one Mersenne-Twister number per element
    and takes longer than the matrix multiplies around it at these widths. Here one
    64-bit draw gives four 16-bit uniforms, so an element is dropped with probability
    ``round(p * 65536) / 65536`` (within 8e-6 of ``p``) and the kept ones are scaled by
    the inverse of the kept fraction, so the expectation is ``x`` exactly as in
    ``F.dropout``. Other devices (Philox on a GPU is cheap) use ``F.dropout`` itself.
    """
    if not training or p <= 0.0:
        return x
    if x.device.type != "cpu" or p >= 1.0:
        return F.dropout(x, p, True)
    n = x.numel()
    draws = torch.randint(-(2**63), 2**63 - 1, ((n + 3) // 4,), dtype=torch.int64)
    uniform = draws.view(torch.int16)[:n].view(x.shape)  # each in [-32768, 32767]
    dropped = round(p * _LEVELS)
    keep = uniform >= dropped - _LEVELS // 2
    return x * (keep.to(x.dtype) * (_LEVELS / (_LEVELS - dropped)))


def elastic_layer_norm(layer: nn.LayerNorm, x: Tensor, dim: int) -> Tensor:
    return F.layer_norm(x, (dim,), layer.weight[:dim], layer.bias[:dim], layer.eps)


def sinusoidal_positions(length: int, dim: int, offset: int, device, dtype) -> Tensor:
    """Fixed sin/cos position encodings of width ``dim`` for positions offset..offset+length."""
    half = dim // 2
    scale = math.log(10000.0) / max(half - 1, 1)
    freqs = torch.exp(torch.arange(half, device=device, dtype=torch.float32) * -scale)
    positions = torch.arange(offset, offset + length, device=device, dtype=torch.float32)
    angles = positions[:, None] * freqs[None, :]
    table = torch.cat([angles.sin(), angles.cos()], dim=1)
    if dim % 2:
        table = F.pad(table, (0, 1))
    return table.to(dtype)


class Attention(nn.Module):
    """Multi-head attention with q/k/v/out projections to and from ``qkv_dim``."""

    def __init__(self, query_dim: int, kv_dim: int, qkv_dim: int) -> None:
        super().__init__()
        self.qkv_dim = qkv_dim
        self.q_proj = nn.Linear(query_dim, qkv_dim)
        self.k_proj = nn.Linear(kv_dim, qkv_dim)
        self.v_proj = nn.Linear(kv_dim, qkv_dim)
        self.out_proj = nn.Linear(qkv_dim, query_dim)

    def _heads(self, x: Tensor, heads: int) -> Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, heads, self.qkv_dim // heads).transpose(1, 2)

    def keys_values(self, source: Tensor, kv_dim: int, heads: int) -> tuple[Tensor, Tensor]:
        """Projected keys and values, shaped ``[batch, heads, length, head_dim]``."""
        k = elastic_linear(self.k_proj, source, kv_dim, self.qkv_dim)
        v = elastic_linear(self.v_proj, source, kv_dim, self.qkv_dim)
        return self._heads(k, heads), self._heads(v, heads)

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        values: Tensor,
        *,
        query_dim: int,
        heads: int,
        mask: Tensor | None = None,
        causal: bool = False,
        dropout: float = 0.0,
    ) -> Tensor:
        q = self._heads(elastic_linear(self.q_proj, query, query_dim, self.qkv_dim), heads)
        context = F.scaled_dot_product_attention(
            q,
            keys,
            values,
            attn_mask=mask,
            dropout_p=dropout if self.training else 0.0,
            is_causal=causal,
        )
        batch, _, length, _ = context.shape
        context = context.transpose(1, 2).reshape(batch, length, self.qkv_dim)
        return elastic_linear(self.out_proj, context, self.qkv_dim, query_dim)


class FeedForward(nn.Module):
    """ReLU feed-forward block ``dim -> ffn -> dim``."""

    def __init__(self, dim: int, ffn_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, dim)

    def forward(self, x: Tensor, dim: int, ffn_dim: int, activation_dropout: float) -> Tensor:
        hidden = F.relu(elastic_linear(self.fc1, x, dim, ffn_dim))
        if activation_dropout > 0:
            hidden = apply_dropout(hidden, activation_dropout, self.training)
        return elastic_linear(self.fc2, hidden, ffn_dim, dim)


class _Normalized(nn.Module):
    """Where a layer's LayerNorms sit: before each sublayer or after each residual sum."""

    normalize_before: bool

    def _pre(self, norm: nn.LayerNorm, x: Tensor, dim: int) -> Tensor:
        return elastic_layer_norm(norm, x, dim) if self.normalize_before else x

    def _post(self, norm: nn.LayerNorm, x: Tensor, dim: int) -> Tensor:
        return x if self.normalize_before else elastic_layer_norm(norm, x, dim)


class EncoderLayer(_Normalized):
    """Self-attention and feed-forward, each with a residual and a LayerNorm (see ``_Normalized``).

    ``dropout`` applies to both residual branches except where ``attention_residual_dropout``
    is given (HAT leaves this one unscaled while scaling the others with the width);
    ``activation_dropout`` applies after the FFN's ReLU.
    """

    def __init__(
        self, dim: int, ffn_dim: int, qkv_dim: int, normalize_before: bool = False
    ) -> None:
        super().__init__()
        self.normalize_before = normalize_before
        self.self_attn = Attention(dim, dim, qkv_dim)
        self.self_attn_norm = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn_dim)
        self.ffn_norm = nn.LayerNorm(dim)

    def forward(
        self,
        x: Tensor,
        mask: Tensor,
        *,
        dim: int,
        ffn_dim: int,
        heads: int,
        dropout: float,
        attention_dropout: float,
        activation_dropout: float,
        attention_residual_dropout: float | None = None,
    ) -> Tensor:
        p = dropout if attention_residual_dropout is None else attention_residual_dropout
        y = self._pre(self.self_attn_norm, x, dim)
        k, v = self.self_attn.keys_values(y, dim, heads)
        h = self.self_attn(
            y, k, v, query_dim=dim, heads=heads, mask=mask, dropout=attention_dropout
        )
        x = self._post(self.self_attn_norm, x + apply_dropout(h, p, self.training), dim)
        h = self.ffn(self._pre(self.ffn_norm, x, dim), dim, ffn_dim, activation_dropout)
        return self._post(self.ffn_norm, x + apply_dropout(h, dropout, self.training), dim)


class DecoderLayer(_Normalized):
    """Causal self-attention, encoder-decoder attention and feed-forward.

    ``cache`` (incremental decoding) holds this layer's past self-attention keys and
    values and the encoder keys/values, which are computed once per sentence.
    """

    def __init__(
        self,
        dim: int,
        encoder_dim: int,
        ffn_dim: int,
        qkv_dim: int,
        normalize_before: bool = False,
    ) -> None:
        super().__init__()
        self.normalize_before = normalize_before
        self.self_attn = Attention(dim, dim, qkv_dim)
        self.self_attn_norm = nn.LayerNorm(dim)
        self.cross_attn = Attention(dim, encoder_dim, qkv_dim)
        self.cross_attn_norm = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn_dim)
        self.ffn_norm = nn.LayerNorm(dim)

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        memory_mask: Tensor,
        *,
        dim: int,
        encoder_dim: int,
        ffn_dim: int,
        heads: int,
        cross_heads: int,
        dropout: float,
        attention_dropout: float,
        activation_dropout: float,
        cache: dict[str, Tensor] | None = None,
    ) -> Tensor:
        y = self._pre(self.self_attn_norm, x, dim)
        k, v = self.self_attn.keys_values(y, dim, heads)
        if cache is not None:
            if "self_k" in cache:
                k = torch.cat([cache["self_k"], k], dim=2)
                v = torch.cat([cache["self_v"], v], dim=2)
            cache["self_k"], cache["self_v"] = k, v
        # With a cache the query is the newest token and may see every cached one.
        causal = cache is None and x.shape[1] > 1
        h = self.self_attn(
            y, k, v, query_dim=dim, heads=heads, causal=causal, dropout=attention_dropout
        )
        x = self._post(self.self_attn_norm, x + apply_dropout(h, dropout, self.training), dim)
        if cache is not None and "cross_k" in cache:
            ck, cv = cache["cross_k"], cache["cross_v"]
        else:
            ck, cv = self.cross_attn.keys_values(memory, encoder_dim, cross_heads)
            if cache is not None:
                cache["cross_k"], cache["cross_v"] = ck, cv
        h = self.cross_attn(
            self._pre(self.cross_attn_norm, x, dim),
            ck,
            cv,
            query_dim=dim,
            heads=cross_heads,
            mask=memory_mask,
            dropout=attention_dropout,
        )
        x = self._post(self.cross_attn_norm, x + apply_dropout(h, dropout, self.training), dim)
        h = self.ffn(self._pre(self.ffn_norm, x, dim), dim, ffn_dim, activation_dropout)
        return self._post(self.ffn_norm, x + apply_dropout(h, dropout, self.training), dim)
