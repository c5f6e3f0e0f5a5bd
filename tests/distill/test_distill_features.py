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


def test_authors_arbitrary_attention_is_one_plus_mean_raw_over_three(paper_space):
    """bleu_predictor.py: (1 + mean of the raw values) / 3; llmpp's hat: count / 3."""
    import dataclasses

    import numpy as np

    from llmpp.distill.features import FeatureEncoder

    base = paper_space.largest()  # six decoder layers
    archs = [dataclasses.replace(base, decoder_arbitrary_ende_attn=values)
             for values in [(-1,) * 6, (1,) * 6, (-1, -1, -1, 2, 2, 2)]]
    authors = FeatureEncoder(paper_space, "authors").encode(archs)
    hat = FeatureEncoder(paper_space, "hat").encode(archs)
    np.testing.assert_allclose(authors[:, -1], [0.0, 2 / 3, 0.5], atol=1e-6)
    np.testing.assert_allclose(hat[:, -1], [1 / 3, 2 / 3, 2 / 3], atol=1e-6)
    np.testing.assert_allclose(authors[:, :-1], hat[:, :-1])  # the other nine agree
