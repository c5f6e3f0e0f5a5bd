"""``SupernetPredictor`` for searches: in-memory weights, no shared memo, racing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from llmpp.errors import ConfigError
from llmpp.predictors.base import TaskContext
from llmpp.predictors.supernet import SupernetPredictor
from llmpp.task import TaskSpec, load_task_config
from llmpp.testing.predictor_contract import check_predictor_contract
from llmpp.training.module import TranslationModule


@pytest.fixture
def supernet(tmp_path, mini_space):
    """A tiny untrained supernet, its checkpoint and its task (24 validation pairs)."""
    task = load_task_config("synthetic_en_de")
    task.vocab_size = 200
    task.data.sizes = {"train": 300, "valid": 24, "test": 12}
    module = TranslationModule(space_name="hat_mini", space_spec=mini_space.spec(),
                               vocab_size=200, task=OmegaConf.to_container(task))
    path = tmp_path / "last.ckpt"
    checkpoint = {"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}
    module.on_save_checkpoint(checkpoint)
    torch.save(checkpoint, path)
    context = TaskContext(task=TaskSpec.from_config(task), space=mini_space)
    return module, path, context


def _scores(predictor: SupernetPredictor, context, archs) -> np.ndarray:
    predictor.setup(context)
    return predictor.predict(archs)


def test_from_module_scores_equal_the_checkpoints_and_follow_the_weights(supernet, mini_space):
    module, path, context = supernet
    archs = mini_space.sample(np.random.default_rng(0), 4)
    live = SupernetPredictor.from_module(module, valid_limit=None)
    saved = _scores(SupernetPredictor(checkpoint=str(path), valid_limit=None), context, archs)
    np.testing.assert_allclose(_scores(live, context, archs), saved, rtol=1e-6)
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(0.5)  # "training" moves the weights: the live predictor sees it
    assert not np.allclose(live.predict(archs), saved, rtol=1e-4)


def test_supernet_racing_keeps_the_subset_best_exact(supernet, mini_space):
    _, path, context = supernet
    archs = mini_space.sample(np.random.default_rng(1), 10)
    full = _scores(SupernetPredictor(checkpoint=str(path), valid_limit=None), context, archs)
    raced_predictor = SupernetPredictor(checkpoint=str(path), valid_limit=None,
                                        race_fraction=0.25, race_keep=3)
    raced = _scores(raced_predictor, context, archs)
    subset = _scores(SupernetPredictor(checkpoint=str(path), valid_limit=6), context, archs)
    kept = np.argsort(-subset, kind="stable")[:3]
    np.testing.assert_allclose(raced[kept], full[kept], rtol=1e-6)
    rest = np.setdiff1d(np.arange(10), kept)
    assert np.all(raced[rest] <= raced[kept].min()), "eliminated ones rank below the kept"
    assert raced_predictor.cost()["evaluations"] == 3
    assert raced_predictor.cost()["subset_evaluations"] == 10
    # Small batches are not raced: scores equal the full ones, so the contract holds.
    check_predictor_contract(
        lambda: SupernetPredictor(checkpoint=str(path), race_fraction=0.25, race_keep=3),
        context, [], archs[:3])


def test_supernet_settings_are_checked(supernet):
    _, path, _ = supernet
    with pytest.raises(ConfigError, match="race_fraction"):
        SupernetPredictor(checkpoint=str(path), race_fraction=1.5)
    with pytest.raises(ConfigError, match="metric=loss"):
        SupernetPredictor(checkpoint=str(path), metric="bleu", race_fraction=0.5)
    with pytest.raises(ConfigError, match="checkpoint"):
        SupernetPredictor()


def _decoder_variants(space, arch, n: int) -> list:
    """``n`` distinct architectures with ``arch``'s encoder and other decoders."""
    rng, out = np.random.default_rng(7), {}
    while len(out) < n:
        other = space.sample(rng, 1)[0]
        variant = dataclasses.replace(arch, **{
            f.name: getattr(other, f.name) for f in dataclasses.fields(other)
            if f.name.startswith("decoder_")})
        out[variant.key()] = space.validate(variant)
    return list(out.values())


def test_shared_encoders_run_once_with_the_scores_of_whole_runs(supernet, mini_space):
    module, _, context = supernet
    with torch.no_grad():  # an untrained supernet's scores barely depend on the encoder
        for p in module.parameters():
            p.add_(0.3 * torch.randn_like(p))
    a = mini_space.sample(np.random.default_rng(3), 1)[0]
    # Encoders that differ in one layer's width or heads only: a key too coarse to
    # tell them apart would hand one the other's encoder output.
    b = dataclasses.replace(a, encoder_ffn_embed_dim=(
        a.encoder_ffn_embed_dim[0] // 2 if a.encoder_ffn_embed_dim[0] > 128 else 512,
        *a.encoder_ffn_embed_dim[1:]))
    c = dataclasses.replace(a, encoder_self_attention_heads=(
        *a.encoder_self_attention_heads[:-1], 6 - a.encoder_self_attention_heads[-1]))
    archs = [*_decoder_variants(mini_space, a, 3), *_decoder_variants(mini_space, b, 2), c]
    reused = SupernetPredictor.from_module(module, valid_limit=None)
    whole = SupernetPredictor.from_module(module, valid_limit=None, reuse_encoder=False)
    scores = _scores(reused, context, archs)
    np.testing.assert_allclose(scores, _scores(whole, context, archs), rtol=1e-5)
    assert reused.cost()["encoder_reuses"] == 3  # (3 - 1) + (2 - 1) + 0
    assert whole.cost()["encoder_reuses"] == 0


def test_racing_counts_the_subset_work_of_the_kept(supernet, mini_space):
    _, path, context = supernet
    archs = mini_space.sample(np.random.default_rng(1), 10)
    raced = SupernetPredictor(checkpoint=str(path), valid_limit=None, race_fraction=0.25,
                              race_keep=3)
    _scores(raced, context, archs)
    # 24 pairs: 6 for all 10 architectures, the other 18 for the 3 kept only.
    assert raced.cost()["pairs_scored"] == 10 * 6 + 3 * 18
