"""HAT's weight-sharing SuperTransformer over a ``SearchSpace``.

The supernet's weights have the space's largest widths and depths (``qkv_dim``
fixed). ``set_arch`` activates a sub-network in place: it then runs with the
leading rows/columns of every weight and the first ``n`` layers (the inherited
weights). ``export`` copies those leading blocks into a standalone ``Transformer``
whose shape is exactly the architecture.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

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


class SuperTransformer(Transformer):
    """A ``Transformer`` holding all of ``space``; any member architecture can run in it."""

    def __init__(
        self,
        space: SearchSpace,
        vocab_size: int,
        *,
        dropout: float = 0.1,
        attention_dropout: float = 0.0,
    ) -> None:
        super().__init__(
            space_shape(space, vocab_size),
            space.largest(),
            dropout=dropout,
            attention_dropout=attention_dropout,
        )
        self.space = space

    def set_arch(self, arch: Architecture) -> None:
        """Activate ``arch`` (validated against the space) with inherited weights."""
        self.arch = self.space.validate(arch)

    @contextmanager
    def activated(self, arch: Architecture) -> Iterator[SuperTransformer]:
        """Run a block with ``arch`` active, restoring the previous one afterwards."""
        previous = self.arch
        self.set_arch(arch)
        try:
            yield self
        finally:
            self.arch = previous

    def export(self, arch: Architecture) -> Transformer:
        """A standalone model of ``arch`` with copies of the inherited weights."""
        arch = self.space.validate(arch)
        model = Transformer(
            ModelShape.of(arch, self.shape.vocab_size, self.shape.qkv_dim),
            arch,
            dropout=self.dropout,
            attention_dropout=self.attention_dropout,
        )
        source = self.state_dict()
        target = model.state_dict()
        with torch.no_grad():
            for name, tensor in target.items():
                block = source[name][tuple(slice(0, n) for n in tensor.shape)]
                tensor.copy_(block)
        model.train(self.training)
        return model.to(next(self.parameters()).device)
