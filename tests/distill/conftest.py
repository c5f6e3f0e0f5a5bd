"""Fixtures of the Distill-PP tests: a synthetic teacher, its labels, a trained checkpoint."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from llmpp.distill.checkpoint import checkpoint_payload, save_checkpoint
from llmpp.distill.features import FeatureEncoder
from llmpp.distill.train import train_regressor
from llmpp.labels.format import label_row, write_labels
from llmpp.labels.pools import sampled_pool
from llmpp.testing.settings import train_config
from llmpp.utils.lock import exclusive

FAST = train_config(max_epochs=40, patience=8, progress_bar=False, batch_size=128)


def synthetic_teacher(space, archs) -> np.ndarray:
    """A smooth, known function of the HAT features (what distillation must recover)."""
    x = space.encode(archs, "hat").astype(np.float64)
    return 20 + 3 * x[:, 0] + 2 * x[:, 2] + 1.5 * x[:, 5] * x[:, 6] - 2 * (x[:, 9] - 0.6) ** 2


@pytest.fixture(scope="session")
def teacher_fn():
    """The synthetic teacher as a fixture (test modules cannot import conftest)."""
    return synthetic_teacher


@pytest.fixture(scope="session")
def mini_pool(mini_space):
    return sampled_pool(mini_space, 2000, seed=7)


@pytest.fixture(scope="session")
def mini_labels_file(tmp_path_factory, mini_space, mini_pool):
    """labels.jsonl of the synthetic teacher (+ small noise) with a few failures."""
    rng = np.random.default_rng(1)
    scores = synthetic_teacher(mini_space, mini_pool) + rng.normal(0, 0.02, len(mini_pool))
    rows = [
        label_row(
            a,
            None if i % 100 == 0 else float(s),
            backend="synthetic",
            model="f",
            task="synthetic_en_de",
            seed=123,
        )
        for i, (a, s) in enumerate(zip(mini_pool, scores, strict=True))
    ]
    path = tmp_path_factory.mktemp("labels") / "labels.jsonl"
    write_labels(path, rows)
    return path


def run_shared_dir(tmp_path_factory) -> Path:
    """A folder every pytest-xdist worker of this run sees (this run's own one without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def mini_checkpoint(tmp_path_factory, mini_space, mini_pool):
    """A checkpoint distilled from the synthetic teacher on hat_mini (task synthetic_en_de).

    Trained once per test run: the first worker to ask trains it under a lock, the
    others read it (tests only read it; those that damage a checkpoint copy it first).
    """
    folder = run_shared_dir(tmp_path_factory) / "mini-distill-checkpoint"
    with exclusive(folder.with_suffix(".lock"), what="the tests' Distill-PP checkpoint"):
        if not (folder / "metrics.json").is_file():  # written last: the build is complete
            folder.mkdir(parents=True, exist_ok=True)
            metrics = _train_mini_checkpoint(folder / "distill.ckpt", mini_space, mini_pool)
            (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder / "distill.ckpt", json.loads((folder / "metrics.json").read_text())


def _train_mini_checkpoint(path: Path, mini_space, mini_pool) -> dict:
    encoder = FeatureEncoder(mini_space, "hat")
    features = encoder.encode(mini_pool)
    targets = synthetic_teacher(mini_space, mini_pool)
    module, metrics = train_regressor(features, targets, [a.key() for a in mini_pool], FAST)
    payload = checkpoint_payload(
        module.net.state_dict(),
        model={
            "in_dim": features.shape[1],
            "hidden_dim": FAST.hidden_dim,
            "hidden_layers": FAST.hidden_layers,
        },
        target_mean=float(module.target_mean),
        target_std=float(module.target_std),
        feature_kind="hat",
        space=mini_space,
        task="synthetic_en_de",
        metrics=metrics,
    )
    save_checkpoint(path, payload)
    return metrics
