"""Direct tests of ``SupernetPredictor``'s settings, racing arithmetic and scoring bookkeeping.

Written for the mutants of ``make mutate MODULE=racing``. The racing arithmetic is
checked on a table of per-pair losses (``TableRacer``: the supernet's ``_loss_sums``
replaced by sums over the table), so every score is known exactly; the rest runs a
tiny untrained supernet on 8 validation pairs.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

import llmpp.predictors.supernet as supernet_module
import llmpp.training.evaluation as evaluation
from llmpp.data.batching import collate
from llmpp.errors import ConfigError, InvalidArchitectureError
from llmpp.predictors.base import TaskContext
from llmpp.predictors.supernet import SupernetPredictor
from llmpp.space import Architecture
from llmpp.task import TaskSpec, load_task_config
from llmpp.training.module import TranslationModule


def exactly(message: str) -> str:
    return "^" + re.escape(message) + "$"


class TableRacer(SupernetPredictor):
    """Scores from a table: architecture ``a`` loses ``losses[a, p]`` nats on pair ``p``."""

    def __init__(self, losses, tokens, **settings) -> None:
        # Any module stands in for the supernet: its scores come from the table.
        super().__init__(module=torch.nn.Linear(1, 1), valid_limit=None, **settings)
        self.losses, self.tokens = np.asarray(losses, dtype=float), np.asarray(tokens)
        self._full = len(self.tokens)
        self.calls: list[tuple[list[int], int, int]] = []

    def _loss_sums(self, archs, start, stop):
        self.calls.append((list(archs), start, stop))
        return [(float(self.losses[a, start:stop].sum()), int(self.tokens[start:stop].sum()))
                for a in archs]


# 6 architectures x 8 pairs. Subset (first 2 pairs) ranking: 0 best, then 1 and 2 tied,
# then 3, 4 and 5 (5's first pair failed: NaN). The full set reverses 0 and 1.
LOSSES = np.array([
    [1.0, 1.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0],
    [2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
    [2.0, 2.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0],
    [3.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [8.0, 8.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [np.nan, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
])
TOKENS = np.array([2, 3, 1, 1, 2, 2, 3, 4])


def reference_race(keep: int, cut: int) -> np.ndarray:
    """Racing written out longhand: what ``_race`` must return on the table."""
    subset = -LOSSES[:, :cut].sum(1) / TOKENS[:cut].sum()
    full = -LOSSES.sum(1) / TOKENS.sum()
    order = sorted(range(len(LOSSES)), key=lambda i: (np.isnan(subset[i]), -subset[i]))
    kept, rest = order[:keep], order[keep:]
    gap = np.mean([full[i] - subset[i] for i in kept])
    scores = subset.copy()
    scores[kept] = full[kept]
    scores[rest] = np.minimum(subset[rest] + gap, min(full[kept]))
    return scores


@pytest.mark.parametrize("keep", [1, 2, 3])
def test_racing_scores_on_a_known_table(keep: int) -> None:
    racer = TableRacer(LOSSES, TOKENS, race_fraction=0.25, race_keep=keep)
    scores = racer.predict(list(range(6)))
    np.testing.assert_allclose(scores, reference_race(keep, cut=2), rtol=1e-12)
    kept = [0, 1, 2][:keep]  # ties (1 and 2) keep their order
    assert racer.calls == [(list(range(6)), 0, 2), (kept, 2, 8)]
    assert racer.cost()["evaluations"] == keep
    assert racer.cost()["subset_evaluations"] == 6
    # The eliminated rank below every kept architecture; the failed one scores NaN.
    assert np.isnan(scores[5])
    assert np.nanmax(scores[[i for i in range(5) if i not in kept]]) <= scores[kept].min()


def test_the_gap_shift_and_the_cap_both_apply() -> None:
    # keep=2: kept 0 and 1, gap = mean(full - subset) > 0. Architecture 2's shifted score
    # is above the worst kept one (the cap binds); 4's is below it (the shift binds).
    scores = TableRacer(LOSSES, TOKENS, race_fraction=0.25, race_keep=2).predict(range(6))
    full = -LOSSES.sum(1) / TOKENS.sum()
    subset = -LOSSES[:, :2].sum(1) / 5
    gap = ((full[0] - subset[0]) + (full[1] - subset[1])) / 2
    assert scores[2] == pytest.approx(min(full[0], full[1]))
    assert subset[2] + gap > min(full[0], full[1])
    assert scores[4] == pytest.approx(subset[4] + gap) and scores[4] < min(full[:2])


@pytest.mark.parametrize(("fraction", "cut"), [(0.01, 1), (0.3, 3), (0.25, 2), (0.99, 8)])
def test_the_subset_is_the_rounded_up_fraction_of_at_least_one_pair(fraction, cut) -> None:
    racer = TableRacer(LOSSES, TOKENS, race_fraction=fraction, race_keep=2)
    scores = racer.predict(range(6))
    assert racer.calls[0] == (list(range(6)), 0, cut)
    if cut == 8:  # the subset is the whole set: nothing is left to score the kept on
        assert len(racer.calls) == 1
        np.testing.assert_allclose(scores[:2], (-LOSSES.sum(1) / TOKENS.sum())[:2])
    else:
        assert racer.calls[1][1:] == (cut, 8)
        np.testing.assert_allclose(scores, reference_race(2, cut), rtol=1e-12)


def test_only_batches_larger_than_race_keep_are_raced() -> None:
    racer = TableRacer(LOSSES, TOKENS, race_fraction=0.25, race_keep=6)
    scores = racer.predict(range(6))
    assert racer.calls == [(list(range(6)), 0, 8)]
    np.testing.assert_allclose(scores, -np.nansum(LOSSES, 1) / 18 * np.where(
        np.isnan(LOSSES).any(1), np.nan, 1))
    assert racer.cost() == {"evaluations": 6, "subset_evaluations": 0, "eval_seconds": 0.0,
                            "pairs_scored": 0, "encoder_reuses": 0}
    racer = TableRacer(LOSSES, TOKENS, race_fraction=0.25, race_keep=5)
    racer.predict(range(6))
    assert len(racer.calls) == 2


def test_single_token_scores_are_not_halved() -> None:
    # One pair of one target token: every score is minus its loss (the max(n, 1) guard).
    losses = np.array([[2.0], [4.0], [6.0]])
    assert TableRacer(losses, [1]).predict(range(3)).tolist() == [-2.0, -4.0, -6.0]
    raced = TableRacer(losses, [1], race_fraction=0.5, race_keep=2).predict(range(3))
    assert raced.tolist() == [-2.0, -4.0, -6.0]
    assert TableRacer(losses, [0]).predict(range(3)).tolist() == [-2.0, -4.0, -6.0]


def test_cost_is_a_copy() -> None:
    racer = TableRacer(LOSSES, TOKENS)
    racer.cost()["evaluations"] = 99
    assert racer.cost()["evaluations"] == 0


# ---- settings ------------------------------------------------------------------------------

def test_defaults_and_settings_are_kept() -> None:
    default = SupernetPredictor(checkpoint="~/runs/last.ckpt")
    assert default.checkpoint == str(Path("~/runs/last.ckpt").expanduser())
    assert (default.metric, default.valid_limit, default.label_smoothing, default.max_tokens,
            default.beam, default.race_fraction, default.race_keep, default.reuse_encoder,
            ) == ("loss", 200, 0.0, 4096, 1, None, 25, True)
    assert default.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert default.module is None and default._datamodule is None
    assert default.name == "supernet[loss]"
    set_ = SupernetPredictor(checkpoint="x.ckpt", metric="loss", valid_limit=7,
                             label_smoothing=0.1, max_tokens=64, beam=3, device="cpu",
                             race_fraction=0.5, race_keep=4, reuse_encoder=False)
    assert (set_.valid_limit, set_.label_smoothing, set_.max_tokens, set_.beam,
            set_.race_fraction, set_.race_keep, set_.reuse_encoder, set_.device
            ) == (7, 0.1, 64, 3, 0.5, 4, False, "cpu")
    assert type(set_.race_fraction) is float and type(set_.race_keep) is int


def test_from_module_passes_every_setting_on() -> None:
    module, data = torch.nn.Linear(1, 1), object()
    p = SupernetPredictor.from_module(module, data, metric="bleu", valid_limit=7,
                                      label_smoothing=0.1, max_tokens=64, beam=3,
                                      reuse_encoder=False)
    assert (p.module, p._datamodule, p.metric, p.valid_limit, p.label_smoothing, p.max_tokens,
            p.beam, p.reuse_encoder, p.device, p.checkpoint
            ) == (module, data, "bleu", 7, 0.1, 64, 3, False, "cpu", None)
    assert SupernetPredictor.from_module(module).race_keep == 25
    assert SupernetPredictor.from_module(module).race_fraction is None
    raced = SupernetPredictor.from_module(module, race_fraction=0.5, race_keep=4)
    assert (raced.race_fraction, raced.race_keep, raced.valid_limit, raced.metric,
            raced.label_smoothing, raced.max_tokens, raced.beam, raced.reuse_encoder
            ) == (0.5, 4, 200, "loss", 0.0, 4096, 1, True)


@pytest.mark.parametrize(("settings", "message"), [
    ({}, "predictor=supernet needs predictor.checkpoint=<.ckpt from llmpp supernet>"),
    ({"checkpoint": "x", "metric": "bleu4"},
     "predictor.metric='bleu4' is unknown; choose one of: loss, bleu"),
    ({"checkpoint": "x", "race_fraction": 0.0}, "predictor.race_fraction=0.0 must lie in (0, 1)"),
    ({"checkpoint": "x", "race_fraction": 1}, "predictor.race_fraction=1 must lie in (0, 1)"),
    ({"checkpoint": "x", "label_smoothing": 1.0},
     "predictor.label_smoothing=1.0 must lie in [0, 1)"),
    ({"checkpoint": "x", "label_smoothing": -0.1},
     "predictor.label_smoothing=-0.1 must lie in [0, 1)"),
    ({"checkpoint": "x", "metric": "bleu", "race_fraction": 0.5},
     "predictor.race_fraction works with metric=loss only"),
])
def test_settings_refused_with_their_message(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=exactly(message)):
        SupernetPredictor(**settings)


def test_boundary_settings_are_accepted() -> None:
    assert SupernetPredictor(checkpoint="x", label_smoothing=0.0).label_smoothing == 0.0
    assert SupernetPredictor(checkpoint="x", race_fraction=0.999).race_fraction == 0.999
    assert SupernetPredictor(module=torch.nn.Linear(1, 1)).checkpoint is None


def test_scoring_before_setup_is_refused() -> None:
    with pytest.raises(RuntimeError, match="setup"):
        SupernetPredictor(checkpoint="x").predict([])


# ---- a tiny real supernet ----------------------------------------------------------------

@pytest.fixture
def clock(monkeypatch):
    """The predictor's clock (its module's ``time`` only) advances 1 s per reading."""
    ticks = itertools.count()
    monkeypatch.setattr(supernet_module, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))


@pytest.fixture(scope="module")
def tiny(mini_space):
    task = load_task_config("synthetic_en_de")
    task.vocab_size = 200
    task.data.sizes = {"train": 40, "valid": 8, "test": 4}
    torch.manual_seed(0)
    module = TranslationModule(space_name="hat_mini", space_spec=mini_space.spec(),
                               vocab_size=200, task=OmegaConf.to_container(task))
    with torch.no_grad():  # weights far enough from the init that the scores differ
        for p in module.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return module, TaskContext(task=TaskSpec.from_config(task), space=mini_space)


def test_full_pairs_are_the_valid_limit_of_the_split(tiny) -> None:
    module, _ = tiny
    assert SupernetPredictor.from_module(module, valid_limit=None)._full_pairs() == 8
    assert SupernetPredictor.from_module(module, valid_limit=5)._full_pairs() == 5
    assert SupernetPredictor.from_module(module, valid_limit=50)._full_pairs() == 8


def test_valid_batches_hold_exactly_the_asked_pairs_and_are_reused(tiny) -> None:
    module, _ = tiny
    predictor = SupernetPredictor.from_module(module, valid_limit=None, max_tokens=40)
    batches = predictor._valid_batches(2, 7)
    assert predictor._valid_batches(2, 7) is batches
    assert len(batches) > 1  # a small token budget splits them
    split = predictor._valid_split()

    def rows(batch_list):
        return sorted(tuple(int(t) for t in row if t) for b in batch_list for row in b["src"])

    assert rows(batches) == rows([collate(split.__getitems__(list(range(2, 7))))])
    predictor.close()
    assert predictor._valid_batches(2, 7) is not batches


def test_loss_scores_follow_the_label_smoothing_and_count_their_work(tiny, mini_space, clock
                                                                    ) -> None:
    module, context = tiny
    archs = mini_space.sample(np.random.default_rng(2), 2)
    plain = SupernetPredictor.from_module(module, valid_limit=None)
    smoothed = SupernetPredictor.from_module(module, valid_limit=None, label_smoothing=0.1)
    for p in (plain, smoothed):
        p.setup(context)
    batches = plain._valid_batches(0, 8)
    for predictor, eps in ((plain, 0.0), (smoothed, 0.1)):
        scores = predictor.predict(archs)
        for arch, score in zip(archs, scores, strict=True):
            nll, n = evaluation.loss_sums(module.run_arch(arch), batches, None, eps)
            assert score == pytest.approx(-nll / n, rel=1e-5)
        cost = predictor.cost()
        assert cost["evaluations"] == 2 and cost["pairs_scored"] == 2 * 8
        assert cost["eval_seconds"] == 1.0  # one clock tick per call
    assert predictor.fit([]) is predictor
    assert not np.allclose(plain.predict(archs), smoothed.predict(archs))
    assert plain.cost()["eval_seconds"] == 2.0  # summed over calls


def test_the_encoder_runs_once_per_shared_group_only(tiny, mini_space, monkeypatch) -> None:
    module, context = tiny
    calls = []
    real = evaluation.encode_batches

    def counted(model, batches):
        calls.append(len(batches))
        return real(model, batches)

    monkeypatch.setattr(evaluation, "encode_batches", counted)
    handed = []  # whether each decoder run got the shared encoder output
    real_sums = evaluation.loss_sums

    def sums(model, batches, encoded, label_smoothing):
        handed.append(encoded is not None)
        return real_sums(model, batches, encoded, label_smoothing)

    monkeypatch.setattr(evaluation, "loss_sums", sums)
    a = mini_space.sample(np.random.default_rng(4), 1)[0]
    b = dataclasses.replace(a, decoder_embed_dim=96 if a.decoder_embed_dim == 128 else 128)
    predictor = SupernetPredictor.from_module(module, valid_limit=None)
    predictor.setup(context)
    predictor.predict([a, b])  # one encoder configuration shared by two
    assert len(calls) == 1 and predictor.cost()["encoder_reuses"] == 1
    assert handed == [True, True]
    predictor.predict([a])  # alone: nothing to share
    assert len(calls) == 1 and predictor.cost()["encoder_reuses"] == 1
    SupernetPredictor.from_module(module, valid_limit=None, reuse_encoder=False).predict([a, b])
    assert len(calls) == 1 and handed == [True, True, False, False, False]


def test_architectures_outside_the_space_are_refused(tiny, mini_space) -> None:
    module, context = tiny
    outside = mini_space.largest().to_hat()
    outside["decoder-embed-dim-subtransformer"] = 100
    predictor = SupernetPredictor.from_module(module, valid_limit=None)
    predictor.setup(context)
    with pytest.raises(InvalidArchitectureError, match="decoder-embed-dim-subtransformer = 100"):
        predictor.predict([Architecture.from_hat(outside)])


def test_setup_refuses_a_fixed_network_another_space_or_task(tiny, mini_space, paper_space
                                                             ) -> None:
    module, context = tiny
    fixed = TranslationModule(space_name="hat_mini", space_spec=mini_space.spec(),
                              vocab_size=200, sampling="fixed",
                              arch=mini_space.smallest().to_hat())
    with pytest.raises(ConfigError, match=exactly(
            "the in-memory module holds one fixed architecture, not a supernet")):
        SupernetPredictor.from_module(fixed).setup(context)
    other_space = TaskContext(task=context.task, space=paper_space)
    with pytest.raises(ConfigError, match=exactly(
            f"the supernet in the in-memory module was trained on space hat_mini (hash "
            f"{mini_space.hash()}) but this run uses space hat_space0 (hash "
            f"{paper_space.hash()}); pass the matching space=...")):
        SupernetPredictor.from_module(module).setup(other_space)
    task = load_task_config("synthetic_en_de")
    task.name = "other_task"
    other_task = TaskContext(task=TaskSpec.from_config(task), space=mini_space)
    with pytest.raises(ConfigError, match=exactly(
            "the supernet in the in-memory module was trained on task synthetic_en_de, not "
            "other_task; pass task=synthetic_en_de or another checkpoint")):
        SupernetPredictor.from_module(module).setup(other_task)
    bound = SupernetPredictor.from_module(module)
    bound.setup(TaskContext(task=context.task, space=None))
    assert bound.context.task is context.task


def test_a_checkpoint_loads_on_the_device_and_needs_its_task(tiny, mini_space, tmp_path,
                                                             monkeypatch) -> None:
    module, context = tiny
    bare = TranslationModule(space_name="hat_mini", space_spec=mini_space.spec(), vocab_size=200)
    moved = []

    class Loaded:  # what from_checkpoint returns: the module, moved where asked
        def to(self, device):
            moved.append(device)
            return bare

    monkeypatch.setattr(TranslationModule, "from_checkpoint", lambda path: Loaded())
    predictor = SupernetPredictor(checkpoint=str(tmp_path / "old.ckpt"), device="cpu")
    predictor.setup(context)
    assert moved == ["cpu"] and predictor.module is bare and predictor.context is context
    with pytest.raises(ConfigError, match=exactly(
            f"{tmp_path / 'old.ckpt'} does not record its task's data settings")):
        predictor.predict(mini_space.sample(np.random.default_rng(0), 1))


def test_the_built_datamodule_batches_with_the_predictors_budget(tiny) -> None:
    module, _ = tiny
    assert SupernetPredictor.from_module(module, max_tokens=64)._data().max_tokens == 64


def test_bleu_scores_each_architecture_on_the_validation_split(tiny, mini_space, clock,
                                                               monkeypatch) -> None:
    module, context = tiny
    calls = []

    def bleu_on_split(model, datamodule, split, *, limit, beam):
        calls.append((model.arch, datamodule, split, limit, beam))
        return SimpleNamespace(score=10.0 * len(calls))

    monkeypatch.setattr(evaluation, "bleu_on_split", bleu_on_split)
    data = SimpleNamespace()  # the datamodule is handed through, not read
    archs = mini_space.sample(np.random.default_rng(6), 2)
    predictor = SupernetPredictor.from_module(module, data, metric="bleu", valid_limit=5, beam=3)
    assert predictor.predict(archs).tolist() == [10.0, 20.0]
    assert calls == [(archs[0], data, "valid", 5, 3), (archs[1], data, "valid", 5, 3)]
    assert predictor.cost()["evaluations"] == 2 and predictor.cost()["eval_seconds"] == 2.0
    predictor.predict(archs[:1])
    assert predictor.cost()["evaluations"] == 3 and predictor.cost()["eval_seconds"] == 3.0


def test_ties_on_the_subset_keep_the_batch_order() -> None:
    # 50 candidates on three subset levels: the ones kept among equals are the earliest
    # in the batch (a stable sort), so a raced search is reproducible.
    levels = np.random.default_rng(0).integers(0, 3, 50).astype(float)
    losses = np.column_stack([levels, np.ones(50)])
    racer = TableRacer(losses, [1, 1], race_fraction=0.5, race_keep=10)
    racer.predict(range(50))
    kept = sorted(range(50), key=lambda i: (levels[i], i))[:10]
    assert racer.calls[1] == (kept, 1, 2)


def test_racing_work_adds_up_over_calls() -> None:
    racer = TableRacer(LOSSES, TOKENS, race_fraction=0.25, race_keep=2)
    racer.predict(range(6))
    racer.predict(range(6))
    assert racer.cost()["evaluations"] == 4 and racer.cost()["subset_evaluations"] == 12
    plain = TableRacer(LOSSES, TOKENS)
    plain.predict(range(6))
    plain.predict(range(3))
    assert plain.cost()["evaluations"] == 9


def test_auto_device_is_cuda_when_there_is_one_and_a_module_keeps_its_own(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert SupernetPredictor(checkpoint="x").device == "cuda"
    assert SupernetPredictor(checkpoint="x", device="cpu").device == "cpu"
    assert SupernetPredictor.from_module(torch.nn.Linear(1, 1)).device == "cpu"
