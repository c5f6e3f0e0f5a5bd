"""Constraints at their edges: exact values, what ``describe`` records, every message."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from llmpp.constraints import AllOf, MaxGFLOPs, MaxLatency, MaxParams, NoConstraint, bind
from llmpp.errors import ConfigError
from llmpp.metrics.efficiency import efficiency


def test_efficiency_values_are_exact_and_use_the_spaces_qkv(mini_space) -> None:
    arch = mini_space.largest()
    e128, e512 = efficiency(arch, 8000, 128), efficiency(arch, 8000, 512)
    gflops = MaxGFLOPs(limit=1.0, vocab_size=8000, qkv_dim=128)
    assert gflops.value(arch) == e128.total_flops / 1e9
    assert MaxGFLOPs(limit=1.0, vocab_size=8000).value(arch) == e512.total_flops / 1e9
    params = MaxParams(limit=1.0, vocab_size=8000, qkv_dim=128)
    assert params.value(arch) == e128.num_parameters_without_embedding_weights / 1e6
    total = MaxParams(limit=1.0, vocab_size=8000, qkv_dim=128, total=True)
    assert total.value(arch) == (
        e128.num_parameters_without_embedding_weights + e128.num_embedding_parameters
    ) / 1e6
    assert gflops.values([arch, arch]).dtype == np.float64


def test_what_describe_records() -> None:
    gflops = MaxGFLOPs(limit=2.5, vocab_size=10)
    assert gflops.describe() == {"type": "MaxGFLOPs", "limit": 2.5, "unit": "GFLOPs"}
    latency = MaxLatency(limit=100, latency=lambda arch: 1.0)
    assert latency.describe() == {"type": "MaxLatency", "limit": 100.0, "unit": "ms",
                                  "source": "predicted"}
    both = AllOf(constraints=[gflops, latency])
    assert both.describe() == {"type": "AllOf", "all_of": [gflops.describe(),
                                                            latency.describe()]}
    assert both.limit == 0.0
    assert repr(both) == "AllOf(MaxGFLOPs(limit=2.5 GFLOPs), MaxLatency(limit=100.0 ms))"


def test_no_constraint_allows_everything(mini_space) -> None:
    none = NoConstraint()
    arch = mini_space.largest()
    assert none.limit == float("inf") and none.value(arch) == 0.0 and none.is_satisfied(arch)
    np.testing.assert_array_equal(none.violations([arch, arch]), [0.0, 0.0])
    assert none.describe() == {"kind": "none", "type": "NoConstraint"}
    assert repr(none) == "NoConstraint()"


def test_all_of_value_is_its_summed_violation(mini_space) -> None:
    arch = mini_space.largest()
    both = AllOf(constraints=[MaxLatency(limit=10, latency=lambda a: 15.0),
                              MaxLatency(limit=4, latency=lambda a: 5.0)])
    assert both.value(arch) == pytest.approx(0.5 + 0.25)
    assert not both.is_satisfied(arch)


class _Column:
    """A latency predictor that answers a column (n, 1), as a regressor may."""

    def predict(self, archs):
        return np.arange(1, len(archs) + 1, dtype=np.int64)[:, None]


def test_latency_values_are_a_float_vector(mini_space) -> None:
    archs = [mini_space.largest(), mini_space.smallest()]
    from_predictor = MaxLatency(limit=1.5, latency=_Column()).values(archs)
    assert from_predictor.shape == (2,) and from_predictor.dtype == np.float64
    assert MaxLatency(limit=1.5, latency=_Column()).value(archs[0]) == 1.0
    from_callable = MaxLatency(limit=1.5, latency=lambda a: 3).values(archs)
    assert from_callable.dtype == np.float64
    assert MaxLatency(limit=1.5, latency=lambda a: 3).values([]).shape == (0,)


def test_bind_hands_each_kind_what_it_needs() -> None:
    gflops = bind(functools.partial(MaxGFLOPs, limit=1.0), vocab_size=8000, qkv_dim=128)
    assert (gflops.vocab_size, gflops.qkv_dim) == (8000, 128)
    params = bind(functools.partial(MaxParams, limit=1.0), vocab_size=7, qkv_dim=64)
    assert (params.vocab_size, params.qkv_dim) == (7, 64)
    plain = bind(lambda: NoConstraint(), vocab_size=1, qkv_dim=1)  # not a class at all
    assert isinstance(plain, NoConstraint)
    built = MaxGFLOPs(limit=1.0, vocab_size=3)
    assert bind(built, vocab_size=1, qkv_dim=1) is built


def test_every_message() -> None:
    def message(fn) -> str:
        with pytest.raises(ConfigError) as err:
            fn()
        return str(err.value)

    assert message(lambda: bind(functools.partial(MaxLatency, limit=1.0), vocab_size=1,
                                qkv_dim=1)) == (
        "constraint=latency needs a latency predictor; pass hardware=<target> with a "
        "fitted latency artifact (llmpp latency writes one)"
    )
    assert message(lambda: AllOf(constraints=[])) == "AllOf needs at least one constraint"
    assert message(lambda: MaxGFLOPs(limit="abc", vocab_size=1)) == (
        "MaxGFLOPs: limit='abc' is not a number; pass constraint.limit=<number>"
    )
    assert message(lambda: MaxParams(limit=0, vocab_size=1)) == (
        "MaxParams: limit=0.0 must be positive"
    )
    assert message(lambda: MaxLatency(limit=1.0, latency=3)) == (
        "MaxLatency needs a latency predictor (predict) or a callable arch -> ms"
    )


def test_all_of_reads_the_architecture(mini_space) -> None:
    small, large = mini_space.smallest(), mini_space.largest()
    limit = MaxGFLOPs(limit=1.0, vocab_size=8000, qkv_dim=128).value(small) * 1.01
    both = AllOf(constraints=[MaxGFLOPs(limit=limit, vocab_size=8000, qkv_dim=128)])
    assert both.value(small) == 0.0 and both.value(large) > 0.0
