"""HAT's weight-sharing SuperTransformer over a ``SearchSpace``.

The supernet's weights have the space's largest widths and depths (``qkv_dim``
fixed). ``set_arch`` activates a sub-network in place: it then runs with the
leading rows/columns of every weight and the first ``n`` layers (the inherited
weights). ``export`` copies those leading blocks into a standalone ``Transformer``
whose shape is exactly the architecture. Subclasses that derive a sub-network's
weights differently (the Mixture-of-Supernets in ``llmpp.models.mos``) override
``inherited_weights`` only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import torch
from torch import Tensor

from llmpp.models.transformer import ModelShape, Transformer
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace


def space_shape(space: SearchSpace, vocab_size: int) -> ModelShape:
    """The weight shape that holds every architecture of ``space``."""
    c = space.choices
    return ModelShape(
        vocab_size=vocab_size,
        encoder_embed_dim=max(c["encoder_embed_dim"]),
        decoder_embed_dim=max(c["decoder_embed_dim"]),
        encoder_ffn_dims=(max(c["encoder_ffn_embed_dim"]),) * space.max_encoder_layers,
        decoder_ffn_dims=(max(c["decoder_ffn_embed_dim"]),) * space.max_decoder_layers,
        qkv_dim=space.qkv_dim,
    )


def space_widths(space: SearchSpace) -> tuple[int, int]:
    """The (encoder, decoder) widest embedding widths: HAT's reference for positions/dropout."""
    return max(space.choices["encoder_embed_dim"]), max(space.choices["decoder_embed_dim"])


class SuperTransformer(Transformer):
    """A ``Transformer`` holding all of ``space``; any member architecture can run in it."""

    def __init__(
        self,
        space: SearchSpace,
        vocab_size: int,
        *,
        dropout: float = 0.1,
        attention_dropout: float = 0.0,
        positions: str = "native",
        scale_dropout: bool = False,
        activation_dropout: float | None = None,
        scale_encoder_attention_dropout: bool = True,
        normalize_before: bool = False,
    ) -> None:
        super().__init__(
            space_shape(space, vocab_size),
            space.largest(),
            dropout=dropout,
            attention_dropout=attention_dropout,
            positions=positions,
            scale_dropout=scale_dropout,
            activation_dropout=activation_dropout,
            scale_encoder_attention_dropout=scale_encoder_attention_dropout,
            normalize_before=normalize_before,
        )
        self.space = space

    def set_arch(self, arch: Architecture) -> None:
        """Activate ``arch`` (validated against the space) with inherited weights."""
        self.arch = self.space.validate(arch)

    def encoder_key(self, arch: Architecture) -> tuple | None:
        """What the encoder's output for ``arch`` depends on: equal keys, equal outputs.

        Lets a scorer run the encoder once for sub-networks that differ only in their
        decoder (evolution's children often do). ``None``: no such guarantee.
        """
        return (
            arch.encoder_embed_dim,
            arch.encoder_layer_num,
            arch.encoder_ffn_embed_dim,
            arch.encoder_self_attention_heads,
        )

    @contextmanager
    def activated(self, arch: Architecture) -> Iterator[SuperTransformer]:
        """Run a block with ``arch`` active, restoring the previous one afterwards."""
        previous = self.arch
        self.set_arch(arch)
        try:
            yield self
        finally:
            self.arch = previous

    def inherited_weights(self, arch: Architecture) -> Mapping[str, Tensor]:
        """Full-size tensors, by standalone parameter name, whose leading blocks ``arch`` uses.

        HAT shares the weights themselves, so this is the state dict.
        """
        return self.state_dict()

    def export(self, arch: Architecture) -> Transformer:
        """A standalone model of ``arch`` with copies of the inherited weights."""
        arch = self.space.validate(arch)
        model = Transformer(
            ModelShape.of(arch, self.shape.vocab_size, self.shape.qkv_dim),
            arch,
            positions=self.positions,
            reference_widths=self.reference_widths,
            **self.build_options(),
        )
        with torch.no_grad():
            source = self.inherited_weights(arch)
            for name, tensor in model.state_dict().items():
                block = source[name][tuple(slice(0, n) for n in tensor.shape)]
                tensor.copy_(block)
        model.train(self.training)
        return model.to(next(self.parameters()).device)
