"""The vectorised feature encoder agrees with the search space's reference encoding."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from llmpp.distill.features import FeatureEncoder
from llmpp.errors import ConfigError


@pytest.mark.parametrize("kind", ["hat", "fine"])
@pytest.mark.parametrize("space_name", ["mini_space", "paper_space"])
def test_distill_fast_encoding_matches_space_encode(request, space_name, kind):
    space = request.getfixturevalue(space_name)
    archs = space.sample(np.random.default_rng(3), 300) + [space.largest(), space.smallest()]
    fast = FeatureEncoder(space, kind).encode(archs)
    reference = space.encode(archs, kind)
    assert fast.shape == reference.shape and fast.dtype == np.float32
    np.testing.assert_allclose(fast, reference, atol=1e-6)


def test_distill_encoding_empty_and_unknown(mini_space):
    encoder = FeatureEncoder(mini_space, "hat")
    assert encoder.encode([]).shape == (0, 10)
    with pytest.raises(ConfigError, match="feature kind"):
        FeatureEncoder(mini_space, "bogus")


def test_distill_encoding_refuses_value_outside_space(mini_space, paper_space):
    arch = paper_space.largest()  # 640-wide: not a hat_mini choice
    with pytest.raises(ConfigError, match="not in space hat_mini"):
        FeatureEncoder(mini_space, "hat").encode([arch])
    odd = dataclasses.replace(mini_space.largest(), encoder_embed_dim=100)
    with pytest.raises(ConfigError, match="encoder_embed_dim = 100"):
        FeatureEncoder(mini_space, "fine").encode([odd])
