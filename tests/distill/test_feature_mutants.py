"""The arbitrary encoder-decoder attention feature: -1, 1 and 2 are three different values.

``decoder_arbitrary_ende_attn`` -1 / 1 / 2 mean "attend the last 1 / 2 / 3 encoder
layers"; every feature encoding (HAT's 10 values, the per-layer ``fine`` rows, the
vectorised Distill-PP encoder) reads the attended count divided by the largest
count in the space. Pinned values here, not agreement between two encoders built
on the same normaliser, so a shift by one on either side is seen.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from llmpp.distill.features import FeatureEncoder
from llmpp.metrics.efficiency import attended_encoder_layers
from llmpp.space import SearchSpace

FIELD = "decoder_arbitrary_ende_attn"


def space_with(arbitrary: list[int]) -> SearchSpace:
    return SearchSpace(
        name="probe", encoder_embed_dim=[128], encoder_layer_num=[3], encoder_ffn_embed_dim=[256],
        encoder_self_attention_heads=[4], decoder_embed_dim=[128], decoder_layer_num=[3, 1],
        decoder_ffn_embed_dim=[256], decoder_self_attention_heads=[4],
        decoder_ende_attention_heads=[4], decoder_arbitrary_ende_attn=arbitrary, qkv_dim=128,
    )


def test_attended_layer_count() -> None:
    assert [attended_encoder_layers(a) for a in (-1, 1, 2, 3)] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("choices", "expected"),
    [
        ([-1, 1, 2], {-1: 1 / 3, 1: 2 / 3, 2: 1.0}),
        ([-1, 1], {-1: 1 / 2, 1: 1.0}),
        ([1, 2], {1: 2 / 3, 2: 1.0}),
        ([-1], {-1: 1.0}),
    ],
)
def test_normalised_value_is_the_attended_count_over_the_largest(choices, expected) -> None:
    space = space_with(choices)
    for value, want in expected.items():
        assert space.normalise(FIELD, value) == pytest.approx(want), value


def test_every_encoding_tells_the_three_choices_apart(mini_space) -> None:
    base = mini_space.largest()  # 3 decoder layers
    archs = [dataclasses.replace(base, **{FIELD: (a,) * 3}) for a in (-1, 1, 2)]
    column = list(mini_space.largest().__dataclass_fields__).index(FIELD)
    for hat in (mini_space.encode(archs, "hat"), FeatureEncoder(mini_space, "hat").encode(archs)):
        np.testing.assert_allclose(hat[:, column], [1 / 3, 2 / 3, 1.0], rtol=1e-6)
    mixed = dataclasses.replace(base, **{FIELD: (2, -1, 1)})
    for fine in (mini_space.encode([mixed], "fine"),
                 FeatureEncoder(mini_space, "fine").encode([mixed])):
        np.testing.assert_allclose(fine[0, -3:], [1.0, 1 / 3, 2 / 3], rtol=1e-6)
    hat = FeatureEncoder(mini_space, "hat").encode([mixed])
    assert hat[0, column] == pytest.approx((1.0 + 1 / 3 + 2 / 3) / 3, rel=1e-6)


def lopsided_space() -> SearchSpace:
    """Fewer encoder layers (2) than decoder layers (up to 3): the padded widths differ."""
    return SearchSpace(
        name="lopsided", encoder_embed_dim=[128, 96], encoder_layer_num=[2],
        encoder_ffn_embed_dim=[256, 128], encoder_self_attention_heads=[4, 2],
        decoder_embed_dim=[128], decoder_layer_num=[3, 1], decoder_ffn_embed_dim=[256, 64],
        decoder_self_attention_heads=[4], decoder_ende_attention_heads=[4, 2],
        decoder_arbitrary_ende_attn=[-1, 1], qkv_dim=128,
    )


@pytest.mark.parametrize("kind", ["hat", "fine"])
def test_fast_encoding_matches_when_encoder_and_decoder_depths_differ(kind) -> None:
    space = lopsided_space()
    archs = space.sample(np.random.default_rng(1), 40)
    fast = FeatureEncoder(space, kind).encode(archs)
    assert fast.shape == (40, 10 if kind == "hat" else 4 + 2 * 2 + 4 * 3)
    np.testing.assert_allclose(fast, space.encode(archs, kind), atol=1e-6)


def test_default_kind_empty_batch_and_messages(mini_space) -> None:
    from llmpp.errors import ConfigError

    encoder = FeatureEncoder(mini_space)
    assert encoder.kind == "hat" and encoder.dim == 10
    empty = FeatureEncoder(mini_space, "fine").encode([])
    assert empty.dtype == np.float32 and empty.shape == (0, encoder_dim(mini_space))
    with pytest.raises(ConfigError) as bad_kind:
        FeatureEncoder(mini_space, "coarse")
    assert str(bad_kind.value) == "unknown feature kind 'coarse'; use one of: hat, fine, authors"
    odd = dataclasses.replace(mini_space.largest(), encoder_embed_dim=100)
    with pytest.raises(ConfigError) as bad_value:
        FeatureEncoder(mini_space, "hat").encode([odd])
    assert str(bad_value.value) == (
        "encoder_embed_dim = 100 is not in space hat_mini; validate architectures against "
        "the space the Distill-PP checkpoint was trained on"
    )


def encoder_dim(space: SearchSpace) -> int:
    return 4 + 2 * space.max_encoder_layers + 4 * space.max_decoder_layers
