"""An encoder-decoder Transformer that runs any architecture fitting inside its weights.

``Transformer`` is built from a ``ModelShape`` (the widths its weights have) and runs
the ``Architecture`` set as ``self.arch`` (widths <= the shape's). The standalone
model of an architecture is a ``Transformer`` whose shape *is* that architecture;
the SuperTransformer (``llmpp.models.super_transformer``) is one whose shape is the
maximum of its search space.

Conventions (HAT's, and ``llmpp.metrics.efficiency``'s): one embedding table shared
by encoder input, decoder input and the output projection (tied), scaled by
sqrt(width) and added to sinusoidal positions; the output projection has no bias;
decoder layer ``j`` attends the concatenated outputs of the last 1-3 encoder
layers (``decoder_arbitrary_ende_attn``: -1 -> the last, 1 -> the last two, 2 ->
the last three).

``normalize_before=True`` makes every layer pre-norm (llmpp's option, not HAT's: deep
post-norm stacks learn slowly at a few hundred CPU steps) and adds a final LayerNorm
to each stack; the encoder's is applied to every layer output the decoder attends,
since arbitrary attention reads intermediate layers' outputs too. (Architectures are
still counted as HAT's post-norm models by ``llmpp.metrics.efficiency``: the two final
norms add 2 x (encoder + decoder width) parameters and negligible FLOPs.)

Two of HAT's supernet conventions are options (off by default, llmpp's own choice):
``positions="sliced"`` takes a narrow stack's position encodings as the leading
columns of the widest stack's sinusoidal table (HAT builds one table at the
SuperTransformer's width and slices it; ``"native"`` builds a table at the active
width), and ``scale_dropout=True`` scales dropout by active width / widest width
(HAT's ``calc_dropout``). The widest widths are ``reference_widths`` — the
supernet's, also for a standalone model exported from it or trained inside HAT's
recipe, so that a sub-network sees the same encodings everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from llmpp.data.corpus import PAD
from llmpp.errors import ConfigError
from llmpp.metrics.efficiency import attended_encoder_layers
from llmpp.models.layers import (
    DecoderLayer,
    EncoderLayer,
    apply_dropout,
    elastic_layer_norm,
    sinusoidal_positions,
)
from llmpp.space.architecture import Architecture

POSITIONS = ("native", "sliced")


@dataclass(frozen=True)
class ModelShape:
    """The widths of a model's weights (per layer for the feed-forward blocks)."""

    vocab_size: int
    encoder_embed_dim: int
    decoder_embed_dim: int
    encoder_ffn_dims: tuple[int, ...]
    decoder_ffn_dims: tuple[int, ...]
    qkv_dim: int

    @classmethod
    def of(cls, arch: Architecture, vocab_size: int, qkv_dim: int) -> ModelShape:
        """The exact shape of ``arch`` (what a standalone model needs)."""
        return cls(
            vocab_size,
            arch.encoder_embed_dim,
            arch.decoder_embed_dim,
            tuple(arch.encoder_ffn_embed_dim),
            tuple(arch.decoder_ffn_embed_dim),
            qkv_dim,
        )


@dataclass
class EncoderOut:
    """Every active encoder layer's output and the source padding mask."""

    states: list[Tensor]  # [batch, src_len, encoder_dim] per layer
    pad: Tensor  # [batch, src_len], True at padding

    def reorder(self, index: Tensor) -> EncoderOut:
        return EncoderOut(
            [s.index_select(0, index) for s in self.states], self.pad.index_select(0, index)
        )


class Transformer(nn.Module):
    """An encoder-decoder running ``self.arch`` inside weights of ``shape``."""

    def __init__(
        self,
        shape: ModelShape,
        arch: Architecture,
        *,
        dropout: float = 0.1,
        attention_dropout: float = 0.0,
        positions: str = "native",
        scale_dropout: bool = False,
        activation_dropout: float | None = None,
        scale_encoder_attention_dropout: bool = True,
        normalize_before: bool = False,
        reference_widths: tuple[int, int] | None = None,
    ) -> None:
        super().__init__()
        if positions not in POSITIONS:
            raise ConfigError(
                f"positions={positions!r} is unknown; choose one of: {', '.join(POSITIONS)}"
            )
        self.shape = shape
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.positions = positions
        self.scale_dropout = scale_dropout
        self.activation_dropout = activation_dropout
        self.scale_encoder_attention_dropout = scale_encoder_attention_dropout
        self.normalize_before = normalize_before
        # (encoder, decoder) widths of the widest model this one belongs to.
        self.reference_widths = tuple(
            reference_widths or (shape.encoder_embed_dim, shape.decoder_embed_dim)
        )
        width = max(shape.encoder_embed_dim, shape.decoder_embed_dim)
        self.embed_tokens = nn.Embedding(shape.vocab_size, width, padding_idx=PAD)
        self.encoder_layers = nn.ModuleList(
            EncoderLayer(shape.encoder_embed_dim, ffn, shape.qkv_dim, normalize_before)
            for ffn in shape.encoder_ffn_dims
        )
        self.decoder_layers = nn.ModuleList(
            DecoderLayer(
                shape.decoder_embed_dim, shape.encoder_embed_dim, ffn, shape.qkv_dim,
                normalize_before,
            )
            for ffn in shape.decoder_ffn_dims
        )
        # Post-norm models have none, so their state dicts stay HAT's.
        if normalize_before:
            self.encoder_norm = nn.LayerNorm(shape.encoder_embed_dim)
            self.decoder_norm = nn.LayerNorm(shape.decoder_embed_dim)
        self._init_weights()
        self.arch = arch

    def _init_weights(self) -> None:
        nn.init.normal_(self.embed_tokens.weight, 0.0, self.embed_tokens.embedding_dim**-0.5)
        with torch.no_grad():
            self.embed_tokens.weight[PAD].zero_()
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    # ---- pieces ---------------------------------------------------------------------
    def stack_dropout(self, dim: int, reference: int) -> float:
        """Dropout of a stack running at width ``dim`` (HAT's rule when ``scale_dropout``)."""
        return self.dropout * dim / reference if self.scale_dropout else self.dropout

    def ffn_dropout(self, dim: int, reference: int) -> float:
        """Dropout after the FFN's activation (HAT scales its ``activation_dropout`` too)."""
        if self.activation_dropout is None:
            return self.stack_dropout(dim, reference)
        p = self.activation_dropout
        return p * dim / reference if self.scale_dropout else p

    def build_options(self) -> dict[str, object]:
        """The dropout and norm settings, for building a model that behaves as this one."""
        return {
            "normalize_before": self.normalize_before,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "scale_dropout": self.scale_dropout,
            "activation_dropout": self.activation_dropout,
            "scale_encoder_attention_dropout": self.scale_encoder_attention_dropout,
        }

    def _embed(self, tokens: Tensor, dim: int, reference: int, offset: int = 0) -> Tensor:
        weight = self.embed_tokens.weight
        x = F.embedding(tokens, weight[:, :dim] if dim != weight.shape[1] else weight, PAD)
        x = x * math.sqrt(dim)
        width = reference if self.positions == "sliced" else dim
        table = sinusoidal_positions(tokens.shape[1], width, offset, x.device, x.dtype)
        x = x + table[:, :dim]
        return apply_dropout(x, self.stack_dropout(dim, reference), self.training)

    def encode(self, src: Tensor) -> EncoderOut:
        """Run the active encoder layers; keeps each layer's output for arbitrary attention."""
        arch = self.arch
        dim = arch.encoder_embed_dim
        pad = src.eq(PAD)
        mask = ~pad[:, None, None, :]  # True = may attend
        reference = self.reference_widths[0]
        x = self._embed(src, dim, reference)
        attention_residual = None if self.scale_encoder_attention_dropout else self.dropout
        states = []
        for i in range(arch.encoder_layer_num):
            x = self.encoder_layers[i](
                x,
                mask,
                dim=dim,
                ffn_dim=arch.encoder_ffn_embed_dim[i],
                heads=arch.encoder_self_attention_heads[i],
                dropout=self.stack_dropout(dim, reference),
                attention_dropout=self.attention_dropout,
                activation_dropout=self.ffn_dropout(dim, reference),
                attention_residual_dropout=attention_residual,
            )
            states.append(self._final_norm("encoder_norm", x, dim))
        return EncoderOut(states, pad)

    def _final_norm(self, name: str, x: Tensor, dim: int) -> Tensor:
        """A pre-norm stack's closing LayerNorm (a post-norm layer already ends in one)."""
        return elastic_layer_norm(getattr(self, name), x, dim) if self.normalize_before else x

    def _memory(self, enc: EncoderOut, arbitrary: int) -> tuple[Tensor, Tensor]:
        """Keys/values source of one decoder layer: the last k encoder outputs, concatenated."""
        k = attended_encoder_layers(arbitrary)
        memory = torch.cat(enc.states[-k:], dim=1) if k > 1 else enc.states[-1]
        pad = enc.pad.repeat(1, k) if k > 1 else enc.pad
        return memory, ~pad[:, None, None, :]

    def decode(
        self,
        tgt_in: Tensor,
        enc: EncoderOut,
        cache: list[dict[str, Tensor]] | None = None,
        offset: int = 0,
    ) -> Tensor:
        """Logits for ``tgt_in``; with ``cache`` (incremental), ``tgt_in`` is the next token."""
        arch = self.arch
        dim = arch.decoder_embed_dim
        reference = self.reference_widths[1]
        x = self._embed(tgt_in, dim, reference, offset)
        memories: dict[int, tuple[Tensor, Tensor]] = {}
        for j in range(arch.decoder_layer_num):
            arbitrary = arch.decoder_arbitrary_ende_attn[j]
            layer_cache = cache[j] if cache is not None else None
            if arbitrary not in memories and not (layer_cache and "cross_k" in layer_cache):
                memories[arbitrary] = self._memory(enc, arbitrary)
            memory, memory_mask = memories.get(arbitrary, (None, None))
            if memory_mask is None:
                memory_mask = layer_cache["cross_mask"]
            elif layer_cache is not None:
                layer_cache["cross_mask"] = memory_mask
            x = self.decoder_layers[j](
                x,
                memory,
                memory_mask,
                dim=dim,
                encoder_dim=arch.encoder_embed_dim,
                ffn_dim=arch.decoder_ffn_embed_dim[j],
                heads=arch.decoder_self_attention_heads[j],
                cross_heads=arch.decoder_ende_attention_heads[j],
                dropout=self.stack_dropout(dim, reference),
                attention_dropout=self.attention_dropout,
                activation_dropout=self.ffn_dropout(dim, reference),
                cache=layer_cache,
            )
        return self.output_projection(self._final_norm("decoder_norm", x, dim))

    def output_projection(self, x: Tensor) -> Tensor:
        weight = self.embed_tokens.weight
        dim = x.shape[-1]
        return F.linear(x, weight[:, :dim] if dim != weight.shape[1] else weight)

    def forward(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits ``[batch, tgt_len, vocab]``."""
        return self.decode(tgt_in, self.encode(src))

    # ---- accounting ---------------------------------------------------------------------
    def num_parameters_without_embeddings(self) -> int:
        """Parameters excluding the (tied) embedding table."""
        return sum(
            p.numel() for n, p in self.named_parameters() if not n.startswith("embed_tokens")
        )


def new_cache(model: Transformer) -> list[dict[str, Tensor]]:
    """An empty incremental-decoding cache, one dict per active decoder layer."""
    return [{} for _ in range(model.arch.decoder_layer_num)]


def reorder_cache(cache: list[dict[str, Tensor]], index: Tensor) -> None:
    """Select rows of every cached tensor in place (beam search)."""
    for layer in cache:
        for key, value in layer.items():
            layer[key] = value.index_select(0, index)
