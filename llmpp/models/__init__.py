"""The SuperTransformer, standalone sub-transformers and decoding."""

from llmpp.models.super_transformer import SuperTransformer, space_shape
from llmpp.models.transformer import EncoderOut, ModelShape, Transformer

__all__ = ["EncoderOut", "ModelShape", "SuperTransformer", "Transformer", "space_shape"]
