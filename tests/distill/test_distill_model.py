"""Distillation recovers a known teacher; the checkpoint round-trips and guards its space."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from llmpp.distill.checkpoint import DistilledModel
from llmpp.errors import ConfigError, CorruptFileError, DataNotFoundError
from llmpp.labels.pools import sampled_pool
from llmpp.metrics.agreement import kendall_tau, mae
from llmpp.predictors.base import Demonstration, TaskContext
from llmpp.predictors.llm_distill import LLMDistillPredictor
from llmpp.task import TaskSpec
from llmpp.testing.predictor_contract import check_predictor_contract

SYNTHETIC = TaskSpec(
    name="synthetic_en_de", title="s", source_lang="en", target_lang="de", vocab_size=1000,
    gold_name=None,
)


def test_distill_recovers_synthetic_teacher(mini_space, mini_checkpoint, teacher_fn):
    path, metrics = mini_checkpoint
    assert metrics["heldout"]["n"] >= 150
    model = DistilledModel.load(path, mini_space)
    fresh = sampled_pool(mini_space, 300, seed=99)
    truth = teacher_fn(mini_space, fresh)
    pred = model.predict(fresh)
    # The teacher spans about 4 BLEU; the student must be within a few hundredths.
    assert np.ptp(truth) > 2
    assert mae(pred, truth) < 0.1, mae(pred, truth)
    assert kendall_tau(pred, truth) > 0.9
    assert metrics["heldout"]["mae"] < 0.1 and metrics["heldout"]["kendall"] > 0.9


def test_distill_checkpoint_round_trip(mini_space, mini_checkpoint):
    path, _ = mini_checkpoint
    archs = mini_space.sample(np.random.default_rng(5), 50)
    first = DistilledModel.load(path, mini_space).predict(archs)
    again = DistilledModel.load(path).predict(archs)  # space rebuilt from the checkpoint
    np.testing.assert_array_equal(first, again)
    assert DistilledModel.load(path).space.hash() == mini_space.hash()


def test_distill_checkpoint_refuses_other_space(paper_space, mini_checkpoint):
    path, _ = mini_checkpoint
    with pytest.raises(ConfigError) as err:
        DistilledModel.load(path, paper_space)
    message = str(err.value)
    assert paper_space.hash() in message and "hat_mini" in message and "\n" not in message


def test_distill_checkpoint_corrupt_or_missing(tmp_path, mini_space, mini_checkpoint):
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CorruptFileError, match="not a readable Distill-PP checkpoint"):
        DistilledModel.load(garbage)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(mini_checkpoint[0].read_bytes()[:2000])
    with pytest.raises(CorruptFileError):
        DistilledModel.load(truncated)
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CorruptFileError, match="not a Distill-PP checkpoint"):
        DistilledModel.load(foreign)
    with pytest.raises(DataNotFoundError, match="llmpp distill"):
        DistilledModel.load(tmp_path / "missing.ckpt")


def test_distill_predictor_contract(mini_space, mini_checkpoint):
    path, _ = mini_checkpoint
    context = TaskContext(task=SYNTHETIC, space=mini_space, seed=123)
    archs = mini_space.sample(np.random.default_rng(11), 20)
    demos = [
        Demonstration(a, float(s)) for a, s in zip(archs[:10], np.linspace(20, 25, 10), strict=True)
    ]
    for calibrate in (False, True):
        check_predictor_contract(
            lambda c=calibrate: LLMDistillPredictor(checkpoint=str(path), calibrate=c),
            context,
            demos,
            archs[10:],
        )


def test_distill_predictor_calibration_and_placeholders(tmp_path, mini_space, mini_checkpoint):
    path, _ = mini_checkpoint
    seeded = tmp_path / "123" / "distill.ckpt"
    seeded.parent.mkdir()
    seeded.write_bytes(path.read_bytes())
    predictor = LLMDistillPredictor(
        checkpoint=str(tmp_path / "{seed}" / "distill.ckpt"), calibrate=True
    )
    predictor.setup(TaskContext(task=SYNTHETIC, space=mini_space, seed=123))
    archs = mini_space.sample(np.random.default_rng(2), 12)
    raw = predictor.model.predict(archs)
    # Gold = 2 x distilled - 30: calibration must recover the line exactly.
    predictor.fit([Demonstration(a, 2 * r - 30) for a, r in zip(archs, raw, strict=True)])
    np.testing.assert_allclose(predictor.predict(archs), 2 * raw - 30, atol=1e-6)
    predictor.close()


def test_distill_predictor_config_errors(mini_space, mini_checkpoint):
    with pytest.raises(ConfigError, match="llmpp distill labels="):
        LLMDistillPredictor(checkpoint=None)
    other_task = TaskSpec(
        name="wmt14_en_de", title="w", source_lang="en", target_lang="de", vocab_size=32768,
        gold_name=None,
    )
    predictor = LLMDistillPredictor(checkpoint=str(mini_checkpoint[0]))
    with pytest.raises(ConfigError, match="distilled for task synthetic_en_de"):
        predictor.setup(TaskContext(task=other_task, space=mini_space))
    with pytest.raises(ConfigError, match="placeholders"):
        LLMDistillPredictor(checkpoint="{oops}/x.ckpt").setup(
            TaskContext(task=SYNTHETIC, space=mini_space)
        )
