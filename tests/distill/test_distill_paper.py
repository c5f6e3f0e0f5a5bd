"""Distill-PP as in the paper: HAT's network shape and the step-based training regime."""

from __future__ import annotations

import numpy as np
import torch

from llmpp.distill.features import FeatureEncoder
from llmpp.distill.model import DistillRegressor
from llmpp.distill.train import FreshBatches, train_regressor
from llmpp.models.mlp import build_mlp, parameter_count
from llmpp.testing.settings import train_config


def test_network_has_hats_shape():
    # HAT (and the authors' bleu_predictor): Linear(10, 400), three Linear(400, 400),
    # Linear(400, 1) -> 10*400+400 + 3*(400*400+400) + 400+1 weights and biases.
    net = build_mlp(10, 400, 3)
    assert sum(p.numel() for p in net.parameters()) == 486_001 == parameter_count(10, 400, 3)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (10, 400),
        (400, 400),
        (400, 400),
        (400, 400),
        (400, 1),
    ]
    assert len([m for m in net if isinstance(m, torch.nn.ReLU)]) == 4
    module = DistillRegressor(in_dim=10)
    assert sum(p.numel() for p in module.parameters()) == 486_001


def test_fresh_batches_draw_distinct_rows_each_step():
    batches = list(FreshBatches(n=50, batch=16, steps=30, seed=3))
    assert len(batches) == 30
    assert all(len(b) == 16 == len(set(b)) and max(b) < 50 for b in batches)
    assert len({tuple(b) for b in batches}) == 30  # fresh every step, not one pass reshuffled
    assert batches == list(FreshBatches(n=50, batch=16, steps=30, seed=3))
    assert list(FreshBatches(n=5, batch=16, steps=2, seed=0))[0] != []  # batch capped at n


def test_step_regime_runs_exact_steps_on_raw_targets(mini_space, mini_pool, teacher_fn):
    pool = mini_pool[:600]
    features = FeatureEncoder(mini_space, "hat").encode(pool)
    targets = teacher_fn(mini_space, pool)
    config = train_config(
        steps=300, lr=1e-3, batch_size=64, standardise=False, progress_bar=False
    )
    module, metrics = train_regressor(features, targets, [a.key() for a in pool], config)
    assert metrics["steps"] == 300
    # Raw targets: the network itself outputs BLEU (no mean/std folded in).
    assert float(module.target_mean) == 0.0 and float(module.target_std) == 1.0
    # 300 steps at this rate reach the teacher's scale (about 20-25 BLEU) from ~0.
    assert metrics["train"]["mae"] < 1.0, metrics["train"]
    standardised, _ = train_regressor(
        features,
        targets,
        [a.key() for a in pool],
        train_config(steps=5, batch_size=64, progress_bar=False),
    )
    assert abs(float(standardised.target_mean) - float(np.mean(targets))) < 1.0


def test_paper_preset_reaches_the_trainer(compose, tmp_path, gold_root):
    from llmpp.stages.distill import run_distill

    cfg = compose(
        "distill",
        [
            "experiment=distill_paper",
            "predictor@teacher.predictor=linear",
            "teacher.pool=sample",
            "teacher.n_archs=60",
            "teacher.demo_seeds=[123]",
            f"benchmark.root={gold_root}",
            "regressor.steps=30",
            "regressor.progress_bar=false",
        ],
    )
    report = run_distill(cfg, tmp_path)
    used = report["train_config"]
    assert (used["steps"], used["lr"], used["batch_size"], used["standardise"]) == (
        30,
        1e-5,
        128,
        False,
    )
    assert used["hidden_layers"] == 3 and used["hidden_dim"] == 400
