"""Small direct tests of the search space for the mutants ``make mutate MODULE=space`` found.

Each test pins one behaviour of ``llmpp/space`` exactly (a message, a default, a dtype,
the form of a stored key), on a tiny space built here so that no config file moves it.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from llmpp.errors import ConfigError, InvalidArchitectureError
from llmpp.space import Architecture, SearchSpace

CHOICES = {
    "encoder_embed_dim": [64, 32],
    "encoder_layer_num": [2],
    "encoder_ffn_embed_dim": [128, 64],
    "encoder_self_attention_heads": [2, 1],
    "decoder_embed_dim": [64, 32],
    "decoder_layer_num": [2, 1],
    "decoder_ffn_embed_dim": [128, 64],
    "decoder_self_attention_heads": [2, 1],
    "decoder_ende_attention_heads": [2, 1],
    "decoder_arbitrary_ende_attn": [-1, 1],
    "qkv_dim": 64,
}


def tiny(**change) -> SearchSpace:
    return SearchSpace(name="tiny", **{**CHOICES, **change})


def hat(**change) -> dict:
    """The HAT mapping of the tiny space's smallest architecture, with ``change`` applied."""
    config = tiny().smallest().to_hat()
    for name, value in change.items():
        config[name.replace("_", "-")] = value
    return config


def raises(error: type[Exception], message: str):
    """The whole message, matched literally (a mutant that drops or garbles it fails)."""
    return pytest.raises(error, match="^" + re.escape(message) + "$")


# ---- stored identities: their exact form is a contract with files on disk ------------------

def test_space_hash_and_arch_key_keep_their_stored_form() -> None:
    # Stage records, memo tables and reply caches store these strings; a change of the
    # JSON form (key order, separators) or of the length orphans every stored artifact.
    space = tiny()
    assert space.hash() == "0de6f4c13f3cadb7"
    assert space.largest().key() == "4286657851fb7c5f"
    assert space.smallest().key() == "61bbb9414d3052eb"


def test_plain_types_for_yaml_and_json() -> None:
    arch = tiny().smallest()
    assert arch.as_dict()["encoder_ffn_embed_dim"] == [64, 64]
    assert type(arch.as_dict()["encoder_ffn_embed_dim"]) is list
    assert type(arch.to_hat()["decoder-ffn-embed-dim-all-subtransformer"]) is list
    assert arch.to_hat()["decoder-layer-num-subtransformer"] == 1


# ---- parsing HAT mappings and arch_info lines --------------------------------------------

def test_integral_floats_are_read_and_fractional_ones_refused() -> None:
    arch = Architecture.from_hat(hat(encoder_embed_dim_subtransformer=32.0))
    assert arch.encoder_embed_dim == 32 and type(arch.encoder_embed_dim) is int
    with raises(InvalidArchitectureError,
                "encoder-embed-dim-subtransformer = 32.5 must be an integer"):
        Architecture.from_hat(hat(encoder_embed_dim_subtransformer=32.5))


def test_a_single_layer_value_may_be_a_scalar() -> None:
    arch = Architecture.from_hat(hat(decoder_ffn_embed_dim_all_subtransformer=64))
    assert arch.decoder_ffn_embed_dim == (64,)


@pytest.mark.parametrize("value", [None, "64", True])
def test_a_per_layer_value_that_is_no_list_is_refused(value) -> None:
    key = "decoder-ffn-embed-dim-all-subtransformer"
    with raises(InvalidArchitectureError, f"{key} = {value!r} must be a list of integers"):
        Architecture.from_hat(hat(decoder_ffn_embed_dim_all_subtransformer=value))


def test_messages_name_the_key_and_the_position() -> None:
    with raises(InvalidArchitectureError,
                "encoder-ffn-embed-dim-all-subtransformer[1] = 'x' must be an integer"):
        Architecture.from_hat(hat(encoder_ffn_embed_dim_all_subtransformer=[64, "x"]))
    with raises(InvalidArchitectureError,
                "decoder-layer-num-subtransformer = 'x' must be an integer"):
        Architecture.from_hat(hat(decoder_layer_num_subtransformer="x"))
    with raises(InvalidArchitectureError, "decoder-layer-num-subtransformer = 0 must be >= 1"):
        Architecture.from_hat(hat(decoder_layer_num_subtransformer=0))
    with raises(InvalidArchitectureError,
                "an architecture must be a mapping of HAT keys, got list"):
        Architecture.from_hat([1, 2])
    with pytest.raises(InvalidArchitectureError) as info:
        Architecture.from_hat({**hat(), "x": 1})
    keys = ", ".join(hat())
    assert str(info.value) == f"unknown architecture key 'x'; expected the HAT keys: {keys}"


@pytest.mark.parametrize(("field", "depth"), [("encoder", 2), ("decoder", 1)])
def test_layer_count_mismatch_message(field: str, depth: int) -> None:
    values = tiny().smallest().as_dict()
    values[f"{field}_self_attention_heads"] = (1,) * (depth + 1)
    with raises(InvalidArchitectureError,
                f"{field}-self-attention-heads-all-subtransformer has {depth + 1} values but "
                f"{field}-layer-num-subtransformer is {depth}"):
        Architecture(**values)


def test_arch_info_lines_split_at_the_first_colon() -> None:
    lines = tiny().smallest().to_arch_info()
    # The key ends at the first colon: the rest, colons included, is the value.
    lines[0] = "encoder-embed-dim-subtransformer: {1: 2}"
    with raises(InvalidArchitectureError,
                "encoder-embed-dim-subtransformer = {1: 2} must be an integer"):
        Architecture.from_arch_info(lines)
    with raises(InvalidArchitectureError,
                "arch_info line 'no colon' is not '<key>: <value>'"):
        Architecture.from_arch_info(["no colon"])
    with raises(InvalidArchitectureError, "arch_info line 'k: [1,' has an unreadable value"):
        Architecture.from_arch_info(["k: [1,"])


# ---- the space's own checks ------------------------------------------------------------

def test_space_construction_errors() -> None:
    with raises(ConfigError, "space tiny: decoder_ffn_embed_dim needs at least one choice"):
        tiny(decoder_ffn_embed_dim=[])
    with raises(ConfigError, "space tiny: qkv_dim 64 is not divisible by 3 heads"):
        tiny(decoder_ende_attention_heads=[2, 3])
    # Arbitrary attention 1 attends the last two encoder layers: a 2-layer encoder has them,
    # arbitrary attention 2 (three layers) does not fit.
    assert tiny(decoder_arbitrary_ende_attn=[-1, 1]).choices["decoder_arbitrary_ende_attn"]
    with raises(ConfigError, "space tiny: decoder_arbitrary_ende_attn attends more encoder "
                "layers than the shallowest encoder has"):
        tiny(decoder_arbitrary_ende_attn=[-1, 2])


def test_the_name_shows_in_repr_and_messages() -> None:
    space = tiny()
    assert repr(space) == "SearchSpace(name='tiny', hash=0de6f4c13f3cadb7)"
    with raises(InvalidArchitectureError, "gene has 3 values; space tiny genes have 16"):
        space.from_gene([1, 2, 3])


def test_contains_is_false_outside_the_space() -> None:
    space = tiny()
    outside = Architecture.from_hat(hat(encoder_embed_dim_subtransformer=48))
    assert not space.contains(outside)
    assert space.contains(space.smallest())


# ---- extremes ----------------------------------------------------------------------------

def test_largest_and_smallest_take_every_extreme_and_the_arbitrary_choice() -> None:
    space = tiny()
    assert space.largest() == Architecture.from_hat({
        "encoder-embed-dim-subtransformer": 64, "encoder-layer-num-subtransformer": 2,
        "encoder-ffn-embed-dim-all-subtransformer": [128, 128],
        "encoder-self-attention-heads-all-subtransformer": [2, 2],
        "decoder-embed-dim-subtransformer": 64, "decoder-layer-num-subtransformer": 2,
        "decoder-ffn-embed-dim-all-subtransformer": [128, 128],
        "decoder-self-attention-heads-all-subtransformer": [2, 2],
        "decoder-ende-attention-heads-all-subtransformer": [2, 2],
        "decoder-arbitrary-ende-attn-all-subtransformer": [-1, -1],
    })
    assert space.largest(arbitrary=1).decoder_arbitrary_ende_attn == (1, 1)
    assert space.largest(arbitrary=1).decoder_ffn_embed_dim == (128, 128)
    assert space.smallest(arbitrary=1).decoder_arbitrary_ende_attn == (1,)
    assert space.smallest().decoder_arbitrary_ende_attn == (-1,)
    with raises(ConfigError, "arbitrary attention 2 is not a choice of space tiny: -1, 1"):
        space.largest(arbitrary=2)


# ---- genes ---------------------------------------------------------------------------

def test_inactive_layers_are_padded_with_the_first_choice() -> None:
    space = tiny()
    assert space.to_gene(space.smallest()) == [
        32, 2, 64, 64, 1, 1,  # encoder: embed, depth, ffn x2, heads x2
        32, 1, 64, 128, 1, 2, 1, 2, -1, -1,  # decoder: 1 active layer, 1 padded
    ]


def test_crossover_takes_each_position_from_the_parent_its_draw_names() -> None:
    space = tiny()
    a, b = list(range(16)), list(range(100, 116))
    child = space.crossover_genes(a, b, np.random.default_rng(5))
    draws = np.random.default_rng(5).random(16)
    assert child == [x if d < 0.5 else y for x, y, d in zip(a, b, draws, strict=True)]
    assert set(child) & set(a) and set(child) & set(b)
    with pytest.raises(ValueError):
        space.crossover_genes(a, b[:-1], np.random.default_rng(5))


# ---- encodings ---------------------------------------------------------------------------

def test_encodings_are_float32_with_hat_the_default() -> None:
    space = tiny()
    archs = [space.largest(), space.smallest()]
    assert space.hat_features(archs[1]).dtype == np.float32
    assert space.fine_features(archs[1]).dtype == np.float32
    default = space.encode(archs)
    assert default.dtype == np.float32
    np.testing.assert_array_equal(default, space.encode(archs, "hat"))
    empty = space.encode([])
    assert empty.shape == (0, 0) and empty.dtype == np.float32
    with raises(ConfigError, "unknown feature kind 'coarse'; use 'hat' or 'fine'"):
        space.encode(archs, "coarse")
