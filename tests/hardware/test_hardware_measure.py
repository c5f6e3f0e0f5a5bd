"""Latency measurement on tiny architectures: behaviour, not timing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from llmpp.errors import ConfigError
from llmpp.hardware.measure import LatencyMeter, torch_threads
from llmpp.hardware.metadata import device_metadata
from llmpp.hardware.target import HardwareTarget
from llmpp.testing.settings import measure_config


def test_measure_reports_positive_parts_and_spread(mini_space):
    from hardware_helpers import TINY

    archs = [mini_space.smallest(), mini_space.largest()]
    meter = LatencyMeter(vocab_size=50, qkv_dim=mini_space.qkv_dim, config=TINY)
    rounds = []
    records = meter.measure(archs, on_round=lambda: rounds.append(1))
    assert len(rounds) == TINY.repeats
    for record, arch in zip(records, archs, strict=True):
        assert record.arch == arch
        assert record.encoder_ms > 0 and record.decoder_ms > 0
        # Medians of the parts and of the total need not add up exactly, but are close.
        assert record.latency_ms == pytest.approx(record.encoder_ms + record.decoder_ms, rel=0.5)
        assert record.repeats == TINY.repeats
        assert record.iqr_rel >= 0 and record.max_min >= 1.0


@pytest.mark.parametrize("beam", [1, 3])
def test_decoding_runs_fixed_length_on_beam_batch(mini_space, beam):
    meter = LatencyMeter(vocab_size=50, qkv_dim=mini_space.qkv_dim,
                         config=measure_config(beam=beam, src_len=5, tgt_len=4, repeats=1))
    model = meter.build(mini_space.largest())
    assert not model.training
    with torch.inference_mode():
        tokens = meter._decode(model, model.encode(meter.source))
    assert tokens.shape == (beam, 1)
    assert meter.source.shape == (1, 5) and int(meter.source.min()) > 3  # no special tokens


def test_threads_are_set_restored_and_recorded():
    ambient = torch.get_num_threads()
    torch.set_num_threads(3)  # not 1, whatever the runner set (xdist workers run with 1)
    try:
        with torch_threads(1) as threads:
            assert threads == torch.get_num_threads() == 1
            meta = HardwareTarget(name="cpu", threads=1).metadata(threads)
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(ambient)
    assert meta["threads"] == 1 and meta["name"] == "cpu"
    with pytest.raises(ConfigError, match="threads"):
        with torch_threads(0):
            pass


def test_metadata_fields_present():
    meta = device_metadata("cpu", 2)
    for key in ("device", "cpu_model", "cpu_count", "threads", "torch", "python", "gpu_name"):
        assert key in meta
    assert meta["threads"] == 2 and meta["torch"] == torch.__version__
    assert isinstance(meta["cpu_model"], str) and meta["cpu_model"]


def test_bad_protocol_and_missing_cuda_are_config_errors(mini_space):
    with pytest.raises(ConfigError, match="repeats"):
        measure_config(repeats=0)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA"):
            LatencyMeter(vocab_size=50, qkv_dim=mini_space.qkv_dim, device="cuda",
                         config=measure_config())


def test_same_seed_same_source_and_weights(mini_space):
    config = measure_config(beam=1, src_len=6, tgt_len=2, repeats=1, seed=3)
    a = LatencyMeter(vocab_size=50, qkv_dim=mini_space.qkv_dim, config=config)
    b = LatencyMeter(vocab_size=50, qkv_dim=mini_space.qkv_dim, config=config)
    assert torch.equal(a.source, b.source)
    arch = mini_space.sample(np.random.default_rng(0))
    wa, wb = a.build(arch).state_dict(), b.build(arch).state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.gpu
def test_cuda_measurement(mini_space):
    meter = LatencyMeter(vocab_size=1000, qkv_dim=mini_space.qkv_dim, device="cuda",
                         config=measure_config(beam=5, warmup=1, repeats=3))
    (record,) = meter.measure([mini_space.largest()])
    assert record.encoder_ms > 0 and record.decoder_ms > 0
    meta = device_metadata("cuda")
    assert meta["gpu_name"] and meta["cuda"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="with CUDA the script really measures")
def test_gpu_script_skips_cleanly_without_cuda(tmp_path):
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_latency.sh"
    proc = subprocess.run(["bash", str(script), str(tmp_path / "out")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "skipped" in proc.stdout and not (tmp_path / "out").exists()
