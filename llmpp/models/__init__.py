"""The SuperTransformer, its Mixture-of-Supernets kinds, standalone sub-transformers, decoding."""

from llmpp.models.mos import LayerMoS, NeuronMoS
from llmpp.models.super_transformer import SuperTransformer, space_shape
from llmpp.models.transformer import EncoderOut, ModelShape, Transformer

__all__ = [
    "EncoderOut",
    "LayerMoS",
    "ModelShape",
    "NeuronMoS",
    "SuperTransformer",
    "Transformer",
    "space_shape",
]
