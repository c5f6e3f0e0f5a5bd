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
