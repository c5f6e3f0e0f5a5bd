"""Constraints: values, violations, composition and Hydra configs."""

from __future__ import annotations

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from llmpp.constraints import AllOf, MaxGFLOPs, MaxLatency, MaxParams, bind
from llmpp.errors import ConfigError
from llmpp.metrics.efficiency import efficiency


def test_constraints_gflops_and_params(paper_space):
    small, large = paper_space.smallest(), paper_space.largest()
    e_small, e_large = efficiency(small, 32768, 512), efficiency(large, 32768, 512)
    limit = (e_small.total_flops + e_large.total_flops) / 2e9
    gflops = MaxGFLOPs(limit=limit, vocab_size=32768, qkv_dim=512)
    assert gflops.value(small) == pytest.approx(e_small.total_flops / 1e9)
    assert gflops.is_satisfied(small) and not gflops.is_satisfied(large)
    assert gflops.violation(small) == 0.0
    assert gflops.violation(large) == pytest.approx(e_large.total_flops / 1e9 / limit - 1)
    params = MaxParams(
        limit=e_small.num_parameters_without_embedding_weights / 1e6, vocab_size=32768
    )
    assert params.is_satisfied(small) and not params.is_satisfied(large)
    total = MaxParams(limit=params.limit, vocab_size=32768, total=True)
    assert not total.is_satisfied(small)  # embeddings push it over


def test_constraints_latency_from_predictor_or_callable(mini_space):
    archs = mini_space.sample(np.random.default_rng(0), 5)

    class Fake:
        def predict(self, batch):
            return np.asarray([10.0 * a.decoder_layer_num for a in batch])

    by_predictor = MaxLatency(limit=20.0, latency=Fake())
    by_callable = MaxLatency(
        limit=20.0, latency=lambda a: 10.0 * a.decoder_layer_num, source="measured"
    )
    expected = np.asarray([max(0.0, (10.0 * a.decoder_layer_num - 20) / 20) for a in archs])
    np.testing.assert_allclose(by_predictor.violations(archs), expected)
    np.testing.assert_allclose(by_callable.violations(archs), expected)
    assert by_callable.describe()["source"] == "measured"
    assert by_predictor.violations([]).shape == (0,)


def test_constraints_all_of_sums_violations(paper_space):
    large = paper_space.largest()
    a = MaxGFLOPs(limit=1.0, vocab_size=32768)
    b = MaxParams(limit=1.0, vocab_size=32768)
    both = AllOf(constraints=[a, b])
    assert both.violation(large) == pytest.approx(a.violation(large) + b.violation(large))
    assert not both.is_satisfied(large)
    loose = AllOf(constraints=[MaxGFLOPs(limit=1e6, vocab_size=32768)])
    assert loose.is_satisfied(large)
    assert [d["type"] for d in both.describe()["all_of"]] == ["MaxGFLOPs", "MaxParams"]


def test_constraints_configs_bind(conf_dir, paper_space):
    for name in ("gflops", "params"):
        factory = instantiate(OmegaConf.load(conf_dir / "constraint" / f"{name}.yaml"))
        constraint = bind(factory, vocab_size=32768, qkv_dim=paper_space.qkv_dim)
        assert constraint.limit > 0 and isinstance(
            constraint.is_satisfied(paper_space.smallest()), bool
        )
    latency = instantiate(OmegaConf.load(conf_dir / "constraint" / "latency.yaml"))
    with pytest.raises(ConfigError, match="latency predictor"):
        bind(latency, vocab_size=32768, qkv_dim=512)
    bound = bind(latency, vocab_size=32768, qkv_dim=512, latency=lambda a: 1.0)
    assert bound.is_satisfied(paper_space.largest())
    with pytest.raises(ConfigError, match="positive"):
        MaxGFLOPs(limit=0, vocab_size=1)
