"""Pre-norm layers (``model.normalize_before=true``): placement of every LayerNorm, export,
incremental decoding and the config path from the stage to the model."""

import numpy as np
import pytest
import torch

from llmpp.models import SuperTransformer
from llmpp.models.layers import DecoderLayer, EncoderLayer
from llmpp.models.mos import LayerMoS
from llmpp.models.transformer import new_cache
from llmpp.training.module import TranslationModule

VOCAB = 97


def _jitter_norms(model: torch.nn.Module, seed: int) -> None:
    """Random LayerNorm gains and biases: a norm skipped or left uncopied shows in outputs."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.copy_(1 + 0.5 * torch.randn(module.weight.shape, generator=g))
                module.bias.copy_(0.5 * torch.randn(module.bias.shape, generator=g))


@pytest.fixture(scope="module")
def pre_norm(mini_space):
    torch.manual_seed(0)
    model = SuperTransformer(mini_space, VOCAB, normalize_before=True).eval()
    _jitter_norms(model, 1)
    return model


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, VOCAB, (3, 11), generator=g)
    src[0, 7:] = 0  # padding
    return src, torch.randint(4, VOCAB, (3, 8), generator=g)


def _zero_sublayers(layer: torch.nn.Module) -> None:
    """Zero every sublayer's output projection: each sublayer then adds exactly 0."""
    with torch.no_grad():
        for name, param in layer.named_parameters():
            if name.startswith(("self_attn.out_proj", "cross_attn.out_proj", "ffn.fc2")):
                param.zero_()


def test_pre_norm_layers_keep_the_residual_stream_unnormalised():
    """x + sublayer(LN(x)): with zero sublayers a pre-norm layer is the identity."""
    torch.manual_seed(0)
    x = 3 + 5 * torch.randn(2, 6, 32)  # far from unit scale: a LayerNorm would show
    memory = torch.randn(2, 4, 32)
    memory_mask = torch.ones(2, 1, 1, 4, dtype=torch.bool)
    common = {"dim": 32, "ffn_dim": 64, "heads": 4, "dropout": 0.0, "attention_dropout": 0.0,
              "activation_dropout": 0.0}
    outputs = {}
    for before in (True, False):
        enc = EncoderLayer(32, 64, 32, normalize_before=before).eval()
        dec = DecoderLayer(32, 32, 64, 32, normalize_before=before).eval()
        for layer in (enc, dec):
            _zero_sublayers(layer)
        outputs[before] = (
            enc(x, torch.ones(2, 1, 1, 6, dtype=torch.bool), **common),
            dec(x, memory, memory_mask, encoder_dim=32, cross_heads=4, **common),
        )
    for out in outputs[True]:
        torch.testing.assert_close(out, x)
    for out in outputs[False]:  # post-norm ends in a LayerNorm: unit scale per position
        torch.testing.assert_close(out.std(-1, unbiased=False), torch.ones(2, 6), atol=1e-3,
                                   rtol=0)


def _ln(norm: torch.nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.layer_norm(x, x.shape[-1:], norm.weight, norm.bias, norm.eps)


def test_each_pre_norm_sublayer_reads_its_own_layer_norm():
    """Against x + sublayer(LN_i(x)) written out, sublayer by sublayer, with distinct norms."""
    torch.manual_seed(0)
    enc = EncoderLayer(32, 64, 32, normalize_before=True).eval()
    dec = DecoderLayer(32, 32, 64, 32, normalize_before=True).eval()
    for layer in (enc, dec):
        _jitter_norms(layer, 3)
    x, memory = torch.randn(2, 6, 32), torch.randn(2, 5, 32)
    src_mask = torch.ones(2, 1, 1, 6, dtype=torch.bool)
    mem_mask = torch.ones(2, 1, 1, 5, dtype=torch.bool)
    kw = {"dim": 32, "ffn_dim": 64, "heads": 4, "dropout": 0.0, "attention_dropout": 0.0,
          "activation_dropout": 0.0}

    def attend(attn, query, source, heads, **extra):
        k, v = attn.keys_values(source, 32, heads)
        return attn(query, k, v, query_dim=32, heads=heads, **extra)

    with torch.no_grad():
        y = _ln(enc.self_attn_norm, x)
        h = x + attend(enc.self_attn, y, y, 4, mask=src_mask)
        expected_enc = h + enc.ffn(_ln(enc.ffn_norm, h), 32, 64, 0.0)
        y = _ln(dec.self_attn_norm, x)
        h = x + attend(dec.self_attn, y, y, 4, causal=True)
        h = h + attend(dec.cross_attn, _ln(dec.cross_attn_norm, h), memory, 2, mask=mem_mask)
        expected_dec = h + dec.ffn(_ln(dec.ffn_norm, h), 32, 64, 0.0)
        torch.testing.assert_close(enc(x, src_mask, **kw), expected_enc)
        torch.testing.assert_close(
            dec(x, memory, mem_mask, encoder_dim=32, cross_heads=2, **kw), expected_dec)


def test_every_attended_encoder_output_passes_the_final_norm(pre_norm, mini_space):
    """Arbitrary attention reads intermediate layers too: each state is normalised."""
    src, _ = _batch()
    arch = mini_space.largest()
    with pre_norm.activated(arch), torch.no_grad():
        states = pre_norm.encode(src).states
        gain = pre_norm.encoder_norm.weight[: arch.encoder_embed_dim].clone()
        pre_norm.encoder_norm.weight[: arch.encoder_embed_dim] = 1.0
        bias = pre_norm.encoder_norm.bias[: arch.encoder_embed_dim].clone()
        pre_norm.encoder_norm.bias[: arch.encoder_embed_dim] = 0.0
        unit = pre_norm.encode(src).states
        pre_norm.encoder_norm.weight[: arch.encoder_embed_dim] = gain
        pre_norm.encoder_norm.bias[: arch.encoder_embed_dim] = bias
    assert len(unit) == arch.encoder_layer_num > 1
    for state in unit:
        torch.testing.assert_close(state.std(-1, unbiased=False),
                                   torch.ones(state.shape[:2]), atol=1e-3, rtol=0)
    assert not torch.allclose(states[0], unit[0])  # the gain and bias applied


def test_decoder_output_passes_the_final_norm(pre_norm, mini_space):
    src, tgt = _batch(1)
    with pre_norm.activated(mini_space.smallest()), torch.no_grad():
        before = pre_norm(src, tgt)
        pre_norm.decoder_norm.bias += 1.0
        after = pre_norm(src, tgt)
        pre_norm.decoder_norm.bias -= 1.0
    assert not torch.allclose(before, after)


def test_post_norm_state_dict_is_unchanged_by_the_option(mini_space):
    post = SuperTransformer(mini_space, VOCAB)
    pre = SuperTransformer(mini_space, VOCAB, normalize_before=True)
    assert set(pre.state_dict()) - set(post.state_dict()) == {
        "encoder_norm.weight", "encoder_norm.bias", "decoder_norm.weight", "decoder_norm.bias"}
    assert not post.normalize_before and all(
        not layer.normalize_before for layer in [*post.encoder_layers, *post.decoder_layers])


@pytest.mark.parametrize("kind", [SuperTransformer, LayerMoS])
def test_pre_norm_export_equals_in_place_subnet(kind, mini_space):
    torch.manual_seed(0)
    supernet = kind(mini_space, VOCAB, normalize_before=True).eval()
    _jitter_norms(supernet, 2)
    src, tgt = _batch(2)
    for arch in [mini_space.largest(), mini_space.smallest(),
                 *mini_space.sample(np.random.default_rng(4), 3)]:
        with supernet.activated(arch):
            inplace = supernet(src, tgt)
        standalone = supernet.export(arch).eval()
        assert standalone.normalize_before
        torch.testing.assert_close(standalone(src, tgt), inplace, atol=1e-5, rtol=1e-5)


def test_pre_norm_incremental_decoding_equals_teacher_forcing(pre_norm, mini_space):
    src, tgt = _batch(3)
    with pre_norm.activated(mini_space.sample(np.random.default_rng(7))), torch.no_grad():
        full = pre_norm(src, tgt)
        enc = pre_norm.encode(src)
        cache = new_cache(pre_norm)
        steps = [pre_norm.decode(tgt[:, i : i + 1], enc, cache, offset=i)
                 for i in range(tgt.shape[1])]
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-5)


def test_module_builds_pre_norm_supernets_and_fixed_models(mini_space):
    common = {"space_name": "hat_mini", "space_spec": mini_space.spec(), "vocab_size": 50}
    supernet = TranslationModule(normalize_before=True, **common)
    fixed = TranslationModule(normalize_before=True, sampling="fixed",
                              arch=mini_space.smallest().to_hat(), **common)
    default = TranslationModule(**common)
    assert supernet.model.normalize_before and supernet.hparams.normalize_before
    assert fixed.model.normalize_before and hasattr(fixed.model, "decoder_norm")
    assert not default.model.normalize_before


def test_run_passes_the_option_to_every_training_step(compose):
    from llmpp.pipeline.plan import step_config
    from llmpp.registry import steps

    by_name = {step.name: step for step in steps()}
    cfg = compose("run", ["space=hat_small", "model.normalize_before=true"])
    for name in ("supernet", "gold", "retrain"):
        assert step_config(cfg, by_name[name], {}).model.normalize_before is True, name
    default = compose("run", ["space=hat_small"])
    assert step_config(default, by_name["supernet"], {}).model.normalize_before is False
