"""HAT's supernet conventions as options: sliced positions, width-scaled dropout, schedules."""

import dataclasses

import pytest
import torch

from llmpp.errors import ConfigError
from llmpp.models import ModelShape, SuperTransformer, Transformer
from llmpp.models.layers import sinusoidal_positions
from llmpp.training.module import TranslationModule
from llmpp.training.objective import Schedule

PADS = torch.zeros(1, 6, dtype=torch.long)  # the padding row of the embedding is zero


def _narrow(mini_space, **kwargs):
    arch = mini_space.smallest()  # width 96 in a space whose widest is 128
    return Transformer(ModelShape.of(arch, 50, mini_space.qkv_dim), arch, **kwargs).eval()


def test_sliced_positions_are_the_widest_tables_leading_columns(mini_space):
    sliced = _narrow(mini_space, positions="sliced", reference_widths=(128, 128))
    native = _narrow(mini_space)
    table = sinusoidal_positions(6, 128, 0, torch.device("cpu"), torch.float32)
    torch.testing.assert_close(sliced._embed(PADS, 96, 128)[0], table[:, :96])
    own = sinusoidal_positions(6, 96, 0, torch.device("cpu"), torch.float32)
    torch.testing.assert_close(native._embed(PADS, 96, 128)[0], own)
    assert not torch.allclose(own, table[:, :96])
    with pytest.raises(ConfigError, match="positions"):
        _narrow(mini_space, positions="learned")


def test_supernet_slices_positions_for_narrow_subnets(mini_space):
    supernet = SuperTransformer(mini_space, 50, positions="sliced").eval()
    table = sinusoidal_positions(6, 128, 3, torch.device("cpu"), torch.float32)
    torch.testing.assert_close(supernet._embed(PADS, 96, 128, offset=3)[0], table[:, :96])
    assert supernet.export(mini_space.smallest()).reference_widths == (128, 128)


def _dropped_fraction(model, dim, reference):
    torch.manual_seed(0)
    tokens = torch.randint(4, 50, (64, 32))
    model.eval()
    clean = model._embed(tokens, dim, reference)
    model.train()
    noisy = model._embed(tokens, dim, reference)
    return float((noisy[clean != 0] == 0).float().mean())


def test_dropout_scales_with_the_sampled_width(mini_space):
    """HAT's calc_dropout: p * active width / widest width, for embeddings and layers."""
    scaled = _narrow(mini_space, dropout=0.8, scale_dropout=True, reference_widths=(128, 128))
    plain = _narrow(mini_space, dropout=0.8, reference_widths=(128, 128))
    assert scaled.stack_dropout(96, 128) == pytest.approx(0.6)
    assert plain.stack_dropout(96, 128) == pytest.approx(0.8)
    assert _dropped_fraction(scaled, 96, 128) == pytest.approx(0.6, abs=0.02)
    assert _dropped_fraction(plain, 96, 128) == pytest.approx(0.8, abs=0.02)


def test_hat_schedules_differ_for_supernet_and_subnet():
    kw = {"max_lr": 1e-3, "init_lr": 1e-7, "min_lr": 1e-7, "warmup_steps": 123}
    supernet = Schedule(**kw, total_steps=40000, kind="hat_supernet")
    subnet = Schedule(**kw, total_steps=40000, kind="hat_subnet")
    ours = Schedule(**kw, total_steps=40000)
    assert (supernet.warmup, subnet.warmup, ours.warmup) == (10000, 4000, 123)
    assert supernet.lr(0) == pytest.approx(1e-7)
    assert supernet.lr(5000) == pytest.approx(0.5e-3, rel=1e-3)
    assert supernet.lr(10000) == pytest.approx(1e-3) and subnet.lr(4000) == pytest.approx(1e-3)
    assert supernet.lr(25000) == pytest.approx(0.5e-3, rel=1e-3)  # cosine midpoint
    assert subnet.lr(22000) == pytest.approx(0.5e-3, rel=1e-3)
    # Past the end fairseq's cosine restarts; llmpp's stays at the floor.
    assert supernet.lr(40000) == pytest.approx(1e-3) and ours.lr(40000) == pytest.approx(1e-7)
    small = Schedule(**kw, total_steps=400, kind="hat_subnet")
    assert small.warmup == 40  # HAT's shape at any budget
    with pytest.raises(ConfigError, match="schedule"):
        Schedule(kind="linear")


def test_module_passes_the_options_through(mini_space):
    module = TranslationModule(
        space_name=mini_space.name,
        space_spec=mini_space.spec(),
        vocab_size=50,
        sampling="fixed",
        arch=mini_space.smallest().to_hat(),
        positions="sliced",
        scale_dropout=True,
        schedule="hat_subnet",
        total_steps=1000,
    )
    assert module.schedule.warmup == 100
    assert module.model.positions == "sliced" and module.model.scale_dropout
    assert module.model.reference_widths == (128, 128)


def _dropout_calls(monkeypatch, model, arch):
    """(p, last dim) of every dropout in one training forward pass of ``arch``."""
    import llmpp.models.layers as layers
    import llmpp.models.transformer as transformer

    calls = []
    real = layers.apply_dropout

    def record(x, p, training):
        calls.append((round(float(p), 6), x.shape[-1]))
        return real(x, p, training)

    monkeypatch.setattr(layers, "apply_dropout", record)
    monkeypatch.setattr(transformer, "apply_dropout", record)
    model.train().set_arch(arch)
    src = torch.randint(4, 50, (2, 5))
    model(src, src)
    return calls


def _wide_ffn_narrow_dim(mini_space):
    # Width 96 of 128 (scaled dropout 0.6 of 0.8) with the widest FFN (512 != 96).
    arch = mini_space.smallest()
    return dataclasses.replace(
        arch, encoder_ffn_embed_dim=(512,) * 3, decoder_ffn_embed_dim=(512,)
    )


def test_hat_dropout_has_no_activation_dropout_and_an_unscaled_encoder_attention(
    mini_space, monkeypatch
):
    """HAT: activation dropout 0 in every FFN; the encoder self-attention residual at p."""
    hat = SuperTransformer(
        mini_space, 50, dropout=0.8, scale_dropout=True, activation_dropout=0.0,
        scale_encoder_attention_dropout=False,
    )
    calls = _dropout_calls(monkeypatch, hat, _wide_ffn_narrow_dim(mini_space))
    assert all(p == 0 for p, dim in calls if dim == 512)  # after the FFN's ReLU
    encoder = [p for p, dim in calls[: 1 + 2 * 3]]
    # embedding, then per layer: self-attention residual (unscaled), FFN residual (scaled)
    assert encoder == [0.6] + [0.8, 0.6] * 3
    assert hat.export(_wide_ffn_narrow_dim(mini_space)).build_options() == (
        hat.build_options()
    )


def test_llmpp_dropout_option_drops_after_the_activation_too(mini_space, monkeypatch):
    ours = SuperTransformer(mini_space, 50, dropout=0.8, scale_dropout=True)
    calls = _dropout_calls(monkeypatch, ours, _wide_ffn_narrow_dim(mini_space))
    assert [p for p, dim in calls if dim == 512] == [0.6] * 4
    assert [p for p, _ in calls[: 1 + 3 * 3]] == [0.6] * 10
