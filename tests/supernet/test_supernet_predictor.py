"""``predictor=supernet``: the Predictor contract, space checks, no memo across instances."""

import numpy as np
import pytest
import torch

from llmpp.errors import ConfigError
from llmpp.predictors.base import Demonstration, TaskContext
from llmpp.predictors.supernet import SupernetPredictor
from llmpp.task import TaskSpec, load_task_config
from llmpp.testing.predictor_contract import check_predictor_contract
from llmpp.training.module import TranslationModule


@pytest.fixture
def checkpoint(tmp_path, mini_space):
    """A tiny untrained supernet saved the way Lightning saves it."""
    task = load_task_config("synthetic_en_de")
    task.vocab_size = 200
    task.data.sizes = {"train": 300, "valid": 12, "test": 12}
    from omegaconf import OmegaConf

    module = TranslationModule(
        space_name="hat_mini",
        space_spec=mini_space.spec(),
        vocab_size=200,
        task=OmegaConf.to_container(task),
    )
    path = tmp_path / "last.ckpt"
    checkpoint = {"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}
    module.on_save_checkpoint(checkpoint)
    torch.save(checkpoint, path)
    return path, TaskSpec.from_config(task)


def test_contract_and_no_memo_across_instances(checkpoint, mini_space):
    path, task = checkpoint
    context = TaskContext(task=task, space=mini_space)
    archs = mini_space.sample(np.random.default_rng(0), 3)
    demos = [Demonstration(a, 1.0) for a in archs]
    check_predictor_contract(lambda: SupernetPredictor(checkpoint=str(path)), context, demos, archs)
    predictor = SupernetPredictor(checkpoint=str(path))
    predictor.setup(context)
    scores = predictor.predict(archs)
    assert np.all(scores < 0)  # -validation loss
    # Nothing is shared between instances: the search's memo is per search (MemoScorer).
    assert predictor.cost()["evaluations"] == 3
    assert len(set(np.round(scores, 6))) > 1  # different subnets, different scores


def test_mismatched_space_or_task_is_refused(checkpoint, paper_space):
    path, task = checkpoint
    predictor = SupernetPredictor(checkpoint=str(path))
    with pytest.raises(ConfigError, match="space"):
        predictor.setup(TaskContext(task=task, space=paper_space))
    other = TaskSpec(
        name="wmt14_en_de", title="x", source_lang="en", target_lang="de", vocab_size=200
    )
    with pytest.raises(ConfigError, match="task"):
        SupernetPredictor(checkpoint=str(path)).setup(TaskContext(task=other))
    with pytest.raises(ConfigError, match="checkpoint"):
        SupernetPredictor(checkpoint=None)
    with pytest.raises(ConfigError, match="metric"):
        SupernetPredictor(checkpoint=str(path), metric="accuracy")
