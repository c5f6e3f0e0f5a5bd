"""HAT's latency protocol and predictor, beside llmpp's."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hardware_helpers import MINI_TASK, TINY, synthetic_latency, write_tiny_artifact

from llmpp.errors import ConfigError
from llmpp.hardware.artifact import LatencyPredictor
from llmpp.hardware.features import encode_features
from llmpp.hardware.fit import fit_latency_model
from llmpp.hardware.hat_predictor import HATLatencyModel
from llmpp.hardware.measure import LatencyMeter, trimmed_mean
from llmpp.models.transformer import Transformer


def test_trimmed_mean_drops_hats_share():
    values = [1000.0, *range(1, 19), 0.5]  # 20 runs: the 2 fastest and the 2 slowest dropped
    assert trimmed_mean(values, 0.1) == pytest.approx(np.mean(range(2, 18)))
    assert trimmed_mean(list(range(1, 11)), 0.1) == pytest.approx(5.5)  # drops 1 and 10
    assert trimmed_mean([1.0, 2.0, 9.0], 0.1) == pytest.approx(1.5)  # at least the slowest
    assert trimmed_mean([4.0], 0.1) == 4.0


def test_hat_protocol_times_parts_separately(mini_space, monkeypatch):
    calls = {"encode": 0, "decode": 0}
    encode, decode = Transformer.encode, Transformer.decode

    def count(name, real):
        def wrapped(self, *args, **kwargs):
            calls[name] += 1
            return real(self, *args, **kwargs)

        return wrapped

    monkeypatch.setattr(Transformer, "encode", count("encode", encode))
    monkeypatch.setattr(Transformer, "decode", count("decode", decode))
    config = replace(TINY, protocol="hat", warmup=1, repeats=4)
    meter = LatencyMeter(vocab_size=1000, qkv_dim=mini_space.qkv_dim, config=config)
    rounds = []
    [record] = meter.measure([mini_space.smallest()], on_round=lambda: rounds.append(1))
    assert len(rounds) == 4  # one per repeat, as the stage's progress bar counts
    # One encoding to feed the decoder, then (warmup + repeats) per part; each decoder
    # run is tgt_len incremental steps on the beam batch.
    assert calls["encode"] == 1 + 1 + 4
    assert calls["decode"] == (1 + 4) * TINY.tgt_len
    assert record.latency_ms == pytest.approx(record.encoder_ms + record.decoder_ms)
    assert record.repeats == 4 and record.latency_ms > 0
    with pytest.raises(ConfigError, match="protocol"):
        replace(TINY, protocol="fast")
    with pytest.raises(ConfigError, match="trim"):
        replace(TINY, trim=0.5)


def test_hat_predictor_shape_recipe_and_round_trip(mini_space, tmp_path):
    model = HATLatencyModel(steps=150, lr=3e-3, batch=32)
    archs = mini_space.sample(np.random.default_rng(0), 80)
    y = synthetic_latency(mini_space, archs)
    x = encode_features(archs, "hat", space=mini_space, vocab_size=1000, measure=TINY)
    model.fit(x, y, seed=0)
    assert sum(p.numel() for p in model.net.parameters()) == 486_001  # HAT's 10 -> 400 x 4 -> 1
    assert model.lat_norm == pytest.approx(float(y.max()))
    error = np.mean(np.abs(model.predict(x) - y) / y)
    assert error < 0.2, error
    again = HATLatencyModel.from_state(model.state(), x.shape[1])
    np.testing.assert_allclose(again.predict(x), model.predict(x))
    expected = write_tiny_artifact(tmp_path / "lat.pt", mini_space, kind="hat_mlp")
    loaded = LatencyPredictor.load(tmp_path / "lat.pt", mini_space, MINI_TASK)
    assert loaded.model.kind == "hat_mlp"
    got = loaded.model.predict(
        encode_features(
            mini_space.sample(np.random.default_rng(0), 40),
            "hat",
            space=mini_space,
            vocab_size=1000,
            measure=TINY,
        )
    )
    np.testing.assert_allclose(got, expected)


def test_auto_does_not_train_hats_recipe(mini_space):
    archs = mini_space.sample(np.random.default_rng(1), 30)
    y = synthetic_latency(mini_space, archs)
    result = fit_latency_model(
        archs,
        y,
        space=mini_space,
        vocab_size=1000,
        measure=TINY,
        kind="auto",
        options={"mlp": {"steps": 5}},
        seed=0,
    )
    assert set(result.candidates) == {"linear", "mlp"}
