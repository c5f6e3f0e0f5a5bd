"""Latency regressors recover a known synthetic latency function."""

from __future__ import annotations

import numpy as np
import pytest
from hardware_helpers import TINY, synthetic_latency

from llmpp.errors import ConfigError
from llmpp.hardware.features import ANALYTIC_NAMES, analytic_features, encode_features
from llmpp.hardware.fit import fit_latency_model, split
from llmpp.hardware.predictor import mape, new_model
from llmpp.testing.settings import measure_config


def test_analytic_features_grow_with_the_work(mini_space):
    small, large = mini_space.smallest(), mini_space.largest()
    f_small = analytic_features(small, vocab_size=1000, qkv_dim=128, measure=TINY)
    f_large = analytic_features(large, vocab_size=1000, qkv_dim=128, measure=TINY)
    assert f_small.shape == (len(ANALYTIC_NAMES),)
    assert np.all(f_large[:5] >= f_small[:5]) and np.any(f_large > f_small)
    greedy = measure_config(beam=1, src_len=4, tgt_len=3)
    f_greedy = analytic_features(large, vocab_size=1000, qkv_dim=128, measure=greedy)
    assert f_greedy[ANALYTIC_NAMES.index("reorder_melems")] == 0  # no beam, no reordering
    assert f_greedy[4] < f_large[4]  # a larger beam projects more rows onto the vocabulary


def test_linear_model_recovers_a_linear_latency(mini_space):
    archs = mini_space.sample(np.random.default_rng(1), 60)
    y = synthetic_latency(mini_space, archs) * np.random.default_rng(2).normal(1, 0.001, 60)
    result = fit_latency_model(archs, y, space=mini_space, vocab_size=1000, measure=TINY,
                               kind="linear", test_fraction=0.25)
    assert result.kind == "linear" and len(result.test_index) == 15
    assert result.test["mape"] < 1.0 and result.test["kendall_tau"] > 0.85


def test_auto_picks_the_better_model_by_cross_validation(mini_space):
    archs = mini_space.sample(np.random.default_rng(3), 48)
    y = synthetic_latency(mini_space, archs)
    result = fit_latency_model(archs, y, space=mini_space, vocab_size=1000, measure=TINY,
                               kind="auto", options={"mlp": {"steps": 200}}, cv_folds=3)
    assert set(result.cv) == {"linear", "mlp"} and set(result.candidates) == {"linear", "mlp"}
    assert result.kind == min(result.cv, key=lambda k: result.cv[k]["mape"])
    assert result.kind == "linear"  # the truth is linear in the analytic features


def test_mlp_fits_a_smooth_function_of_hat_features(mini_space):
    archs = mini_space.sample(np.random.default_rng(4), 80)
    x = encode_features(archs, "hat", space=mini_space, vocab_size=1000, measure=TINY)
    y = 10 + 20 * x[:, 5] + 8 * x[:, 4] * x[:, 6]  # decoder depth, width x ffn
    model = new_model("mlp", {"steps": 300}).fit(x[:60], y[:60])
    assert mape(model.predict(x[60:]), y[60:]) < 8.0


def test_bad_settings_are_config_errors(mini_space):
    with pytest.raises(ConfigError, match="unknown latency model"):
        new_model("forest")
    with pytest.raises(ConfigError, match="test_fraction"):
        split(10, 1.5, 0)
    with pytest.raises(ConfigError, match="too few"):
        split(3, 0.5, 0)
    with pytest.raises(ConfigError, match="feature kind"):
        encode_features([mini_space.smallest()], "nope", space=mini_space, vocab_size=10,
                        measure=TINY)
