"""Mixture-of-Supernets: routing, export equality, parameter counts, checkpoints, inheritance."""

import lightning as L
import numpy as np
import pytest
import torch

from llmpp.errors import ConfigError
from llmpp.metrics.efficiency import efficiency
from llmpp.models import SuperTransformer
from llmpp.models.mos import LayerMoS, MixtureFeedForward, NeuronMoS
from llmpp.training.inherit import inherit_weights, inherited_model
from llmpp.training.module import TranslationModule

VOCAB = 61
KINDS = {"layer_mos": LayerMoS, "neuron_mos": NeuronMoS}
FC1 = "encoder_layers.0.ffn.fc1.weight"


def _batch(seed=0, batch=3):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, VOCAB, (batch, 9), generator=g)
    src[0, 6:] = 0  # padding
    tgt = torch.randint(4, VOCAB, (batch, 7), generator=g)
    return src, tgt


def _supernet(cls, space, **kwargs):
    torch.manual_seed(0)
    return cls(space, VOCAB, **kwargs).eval()


def _archs(space, n=4, seed=5):
    return [space.largest(), space.smallest(), *space.sample(np.random.default_rng(seed), n)]


@pytest.mark.parametrize("kind", KINDS)
def test_export_equals_in_place_forward_and_analytic_params(kind, mini_space):
    supernet = _supernet(KINDS[kind], mini_space, positions="sliced", scale_dropout=True)
    src, tgt = _batch()
    for arch in _archs(mini_space):
        with supernet.activated(arch):
            inplace = supernet(src, tgt)
        standalone = supernet.export(arch).eval()
        torch.testing.assert_close(standalone(src, tgt), inplace, atol=1e-5, rtol=1e-5)
        analytic = efficiency(arch, VOCAB, mini_space.qkv_dim)
        assert (
            standalone.num_parameters_without_embeddings()
            == analytic.num_parameters_without_embedding_weights
        )
    assert supernet.arch == mini_space.largest()  # activated() restores, and re-routes


@pytest.mark.parametrize("kind", KINDS)
def test_different_architectures_get_different_mixed_weights(kind, mini_space):
    """Same widths, other depth: HAT shares the block exactly, MoS routes it differently."""
    a = mini_space.largest()
    b = mini_space.from_hat({**a.to_hat(), "decoder-layer-num-subtransformer": 1})
    mos = _supernet(KINDS[kind], mini_space)
    assert not torch.allclose(mos.export(a).state_dict()[FC1], mos.export(b).state_dict()[FC1])
    hat = _supernet(SuperTransformer, mini_space)
    torch.testing.assert_close(hat.export(a).state_dict()[FC1], hat.export(b).state_dict()[FC1])


def _route_all_to(supernet, expert):
    """Make every router put (numerically) all weight on ``expert``."""
    with torch.no_grad():
        for mixture in supernet.modules():
            if not isinstance(mixture, MixtureFeedForward):
                continue
            routers = (
                [mixture.router1, mixture.router2] if mixture.neuron_wise else [mixture.router]
            )
            for router in routers:
                last = router.net[-1]
                last.weight.zero_()
                bias = torch.full((last.bias.numel() // mixture.experts, mixture.experts), -30.0)
                bias[:, expert] = 30.0
                last.bias.copy_(bias.flatten())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("expert", [0, 2])
def test_one_hot_router_reproduces_that_experts_slice(kind, expert, mini_space):
    supernet = _supernet(KINDS[kind], mini_space, experts=3)
    with torch.no_grad():  # experts' biases start at zero; make them tell experts apart
        for name, param in supernet.named_parameters():
            if ".ffn.fc" in name and name.endswith("bias"):
                param.normal_()
    _route_all_to(supernet, expert)
    arch = mini_space.smallest()
    exported = supernet.export(arch).state_dict()
    experts = supernet.state_dict()
    for stack, i in (("encoder", 0), ("decoder", 0)):
        for fc in ("fc1", "fc2"):
            name = f"{stack}_layers.{i}.ffn.{fc}"
            out_dim, in_dim = exported[f"{name}.weight"].shape
            torch.testing.assert_close(
                exported[f"{name}.weight"], experts[f"{name}.weight"][expert, :out_dim, :in_dim]
            )
            torch.testing.assert_close(
                exported[f"{name}.bias"], experts[f"{name}.bias"][expert, :out_dim]
            )


def test_neuron_wise_mixes_each_neuron_separately(mini_space):
    supernet = _supernet(NeuronMoS, mini_space, experts=2)
    mixture = supernet.encoder_layers[0].ffn
    a1, a2 = mixture.alphas(128, 96)
    assert a1.shape == (128, 2) and a2.shape == (96, 2)
    torch.testing.assert_close(a1.sum(-1), torch.ones(128))
    assert a1[:, 0].std() > 1e-3  # not one vector shared by all neurons
    full, _ = mixture.alphas(512, 128)
    torch.testing.assert_close(full[:128], a1)  # a neuron's mixture ignores how many are kept
    layer = _supernet(LayerMoS, mini_space).encoder_layers[0].ffn.alphas(128, 96)[0]
    assert layer.shape == (2,)


@pytest.mark.parametrize("kind", KINDS)
def test_routers_and_experts_learn_jointly(kind, mini_space):
    supernet = KINDS[kind](mini_space, VOCAB).train()
    supernet.set_arch(mini_space.smallest())
    src, tgt = _batch(1)
    supernet(src, tgt).square().mean().backward()
    mixture = supernet.decoder_layers[0].ffn
    routers = [mixture.router1, mixture.router2] if kind == "neuron_mos" else [mixture.router]
    for router in routers:
        assert router.net[0].weight.grad.abs().sum() > 0
    grad = mixture.fc1.weight.grad
    assert all(grad[e].abs().sum() > 0 for e in range(grad.shape[0]))
    assert supernet.decoder_layers[2].ffn.fc1.weight.grad is None  # inactive layer


def test_layers_key_limits_the_mixtures(mini_space):
    supernet = LayerMoS(mini_space, VOCAB, layers=["decoder"])
    assert not isinstance(supernet.encoder_layers[0].ffn, MixtureFeedForward)
    assert isinstance(supernet.decoder_layers[0].ffn, MixtureFeedForward)
    with pytest.raises(ConfigError, match="layers"):
        LayerMoS(mini_space, VOCAB, layers=["ffn"])
    with pytest.raises(ConfigError, match="_target_"):
        _module(mini_space, {"_target_": "llmpp.models.nope.Missing"})
    with pytest.raises(ConfigError, match="expert"):
        _module(mini_space, {"_target_": "llmpp.models.mos.LayerMoS", "expert": 2})


# ---- the LightningModule: any kind trains, checkpoints, resumes and reloads ----------
def _module(space, supernet, **kwargs):
    torch.manual_seed(0)
    return TranslationModule(
        space_name=space.name,
        space_spec=space.spec(),
        vocab_size=VOCAB,
        supernet=supernet,
        warmup_steps=1,
        total_steps=10,
        **kwargs,
    )


def _loader():
    batches = []
    for seed in range(3):
        src, tgt = _batch(seed)
        batches.append({"src": src, "tgt_in": tgt[:, :-1], "tgt_out": tgt[:, 1:]})
    return torch.utils.data.DataLoader(batches, batch_size=None)


def _trainer(root, steps):
    return L.Trainer(
        max_steps=steps,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        default_root_dir=root,
    )


@pytest.mark.parametrize("target", ["llmpp.models.mos.LayerMoS", "llmpp.models.mos.NeuronMoS"])
def test_checkpoint_resume_and_reload_any_kind(target, mini_space, tmp_path):
    spec = {"_target_": target, "experts": 3, "router_width": 16}
    module = _module(mini_space, spec, sampling="sandwich")
    trainer = _trainer(tmp_path, 2)
    trainer.fit(module, _loader())
    ckpt = tmp_path / "two.ckpt"
    trainer.save_checkpoint(ckpt)

    resumed = _module(mini_space, spec, sampling="sandwich")
    again = _trainer(tmp_path, 3)
    again.fit(resumed, _loader(), ckpt_path=ckpt)
    assert again.global_step == 3

    loaded = TranslationModule.from_checkpoint(ckpt)
    assert type(loaded.model).__name__ == target.rsplit(".", 1)[1] and loaded.is_supernet
    assert loaded.model.encoder_layers[0].ffn.experts == 3
    module.eval()
    src, tgt = _batch(4)
    arch = mini_space.sample(np.random.default_rng(1))
    with module.model.activated(arch), loaded.model.activated(arch):
        torch.testing.assert_close(loaded.model(src, tgt), module.model(src, tgt))
    assert loaded.subnet_loss(arch, [_loader().dataset[0]]) > 0


def test_old_checkpoints_without_a_kind_load_as_hat(mini_space, tmp_path):
    module = _module(mini_space, None)
    assert type(module.model) is SuperTransformer
    assert module.hparams.supernet["_target_"].endswith("SuperTransformer")


# ---- inherited weights for retrain's fine-tuning option ------------------------------
def test_inherited_model_and_inherit_weights(mini_space, tmp_path):
    spec = {"_target_": "llmpp.models.mos.NeuronMoS"}
    supernet = _module(mini_space, spec)
    ckpt = tmp_path / "mos.ckpt"
    trainer = _trainer(tmp_path, 1)
    trainer.fit(supernet, _loader())
    trainer.save_checkpoint(ckpt)
    supernet.eval()
    arch = mini_space.sample(np.random.default_rng(7))
    src, tgt = _batch(2)
    with supernet.model.activated(arch):
        expected = supernet.model(src, tgt)

    model = inherited_model(ckpt, arch.to_hat()).eval()
    torch.testing.assert_close(model(src, tgt), expected, atol=1e-5, rtol=1e-5)

    fixed = _module(mini_space, None, sampling="fixed", arch=arch.to_hat())
    before = fixed.model.state_dict()[FC1].clone()
    inherit_weights(fixed, ckpt)
    assert not torch.equal(fixed.model.state_dict()[FC1], before)
    torch.testing.assert_close(fixed.model.eval()(src, tgt), expected, atol=1e-5, rtol=1e-5)

    other = _module(mini_space, None, sampling="fixed", arch=arch.to_hat(), positions="sliced")
    with pytest.raises(ConfigError, match="positions"):
        inherit_weights(other, ckpt)
    with pytest.raises(ConfigError, match="fixed"):
        inherit_weights(supernet, ckpt)


@pytest.mark.parametrize("kind", ["hat", *KINDS])
def test_model_group_options_build_their_kind(kind, mini_space, conf_dir):
    """conf/model/<kind>.yaml builds through the stage's call (keys match the classes)."""
    from omegaconf import OmegaConf

    from llmpp.config import build

    cfg = OmegaConf.load(conf_dir / "model" / f"{kind}.yaml")
    module = build(
        cfg, "model", space_name=mini_space.name, space_spec=mini_space.spec(),
        vocab_size=VOCAB, seed=0, task=None, max_lr=1e-3, warmup_steps=1, total_steps=5,
    )  # fmt: skip
    assert type(module.model) is KINDS.get(kind, SuperTransformer)
    assert module.hparams.supernet == OmegaConf.to_container(cfg.supernet)


def test_eval_reuses_mixed_weights_until_route_or_weights_change(mini_space):
    supernet = _supernet(NeuronMoS, mini_space)
    mixture = supernet.encoder_layers[0].ffn
    with torch.no_grad():
        first = mixture.mixed(128, 512)
        assert mixture.mixed(128, 512) is first  # cached
        supernet.set_arch(mini_space.smallest())
        routed = mixture.mixed(128, 512)
        assert routed is not first and not torch.equal(routed["fc1.weight"], first["fc1.weight"])
        mixture.fc1.weight.add_(1.0)  # an optimiser step or load_state_dict
        moved = mixture.mixed(128, 512)
        torch.testing.assert_close(moved["fc1.weight"], routed["fc1.weight"] + 1.0)
    assert mixture.mixed(128, 512)["fc1.weight"].requires_grad  # autograd: never cached


@pytest.mark.parametrize("kind", KINDS)
def test_encoder_outputs_are_shared_only_when_the_encoder_is_not_routed(kind, mini_space):
    """A routed encoder reads the decoder's settings too: no encoder key, no reuse."""
    import dataclasses

    arch = mini_space.largest()
    other_decoder = dataclasses.replace(arch, decoder_embed_dim=96)
    src, _ = _batch()
    routed = _supernet(KINDS[kind], mini_space)
    assert routed.encoder_key(arch) is None
    with torch.no_grad():  # ... because its encoder output does change with the decoder
        routed.set_arch(arch)
        first = routed.encode(src).states[-1]
        routed.set_arch(other_decoder)
        assert not torch.allclose(routed.encode(src).states[-1], first)
    decoder_only = _supernet(KINDS[kind], mini_space, layers=["decoder"])
    assert decoder_only.encoder_key(arch) == decoder_only.encoder_key(other_decoder)
    with torch.no_grad():
        decoder_only.set_arch(arch)
        first = decoder_only.encode(src).states[-1]
        decoder_only.set_arch(other_decoder)
        torch.testing.assert_close(decoder_only.encode(src).states[-1], first)


def _mos_ones(space):
    """The architecture whose HAT numbers equal the MoS code's divisors, in HAT's space."""
    from llmpp.space.architecture import Architecture

    heads = (8, 8, 8, 4, 4, 4)  # mean 6
    return space.validate(Architecture(
        encoder_embed_dim=640, encoder_layer_num=6, encoder_ffn_embed_dim=(2048,) * 6,
        encoder_self_attention_heads=heads, decoder_embed_dim=640, decoder_layer_num=6,
        decoder_ffn_embed_dim=(2048,) * 6, decoder_self_attention_heads=heads,
        decoder_ende_attention_heads=heads, decoder_arbitrary_ende_attn=(1,) * 6))


def test_mos_router_input_is_the_mos_codes_scaling(paper_space):
    """raw / [640, 6, 2048, 6, 640, 6, 2048, 6, 6, 2], arbitrary attention as a count."""
    from llmpp.models.mos import mos_router_input

    torch.testing.assert_close(mos_router_input(_mos_ones(paper_space)), torch.ones(10))
    largest = mos_router_input(paper_space.largest(1))  # HAT's largest_arbitrary1
    expected = torch.tensor([1, 1, 1.5, 8 / 6, 1, 1, 1.5, 8 / 6, 8 / 6, 1])
    torch.testing.assert_close(largest, expected)
    assert float(mos_router_input(paper_space.largest())[-1]) == 0.5  # -1: one layer


def test_mos_router_init_and_input_reach_the_supernet(mini_space):
    torch.manual_seed(0)
    mos = NeuronMoS(mini_space, 50, router_input="mos", router_init="mos")
    ours = NeuronMoS(mini_space, 50)
    mixture = next(m for m in mos.modules() if isinstance(m, MixtureFeedForward))
    default = next(m for m in ours.modules() if isinstance(m, MixtureFeedForward))
    for router in (mixture.router1, mixture.router2):
        last = router.net[-1]
        bound = (6 / (last.in_features + last.out_features)) ** 0.5
        assert torch.count_nonzero(last.bias) == 0 and float(last.weight.abs().max()) <= bound
    assert torch.count_nonzero(default.router1.net[-1].bias) > 0  # PyTorch's default
    from llmpp.models.mos import mos_router_input

    arch = mini_space.smallest()
    mos.set_arch(arch)
    torch.testing.assert_close(mixture.route, mos_router_input(arch))
    with pytest.raises(ConfigError, match="router_init"):
        NeuronMoS(mini_space, 50, router_init="kaiming")


def test_mos_paper_preset_composes_with_the_mos_recipe(compose):
    for model in ("neuron_mos", "layer_mos"):
        cfg = compose("supernet", ["experiment=mos_paper", f"model={model}"])
        net = cfg.model.supernet
        assert net._target_.endswith("NeuronMoS" if model == "neuron_mos" else "LayerMoS")
        assert (net.experts, net.router_width, net.router_input, net.router_init) == (
            6, 128, "mos", "mos")
        assert (cfg.model.sampling, cfg.model.extreme_arbitrary_ende_attn) == ("sandwich", 1)
        assert cfg.val_check_interval_updates == 2000
        assert cfg.trainer.accumulate_grad_batches == 128 and cfg.optim.schedule == "hat_supernet"
