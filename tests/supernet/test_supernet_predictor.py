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
        name="wmt14_en_de", title="x", source_lang="en", target_lang="de", vocab_size=200,
        gold_name=None,
    )
    with pytest.raises(ConfigError, match="task"):
        SupernetPredictor(checkpoint=str(path)).setup(TaskContext(task=other))
    with pytest.raises(ConfigError, match="checkpoint"):
        SupernetPredictor(checkpoint=None)
    with pytest.raises(ConfigError, match="metric"):
        SupernetPredictor(checkpoint=str(path), metric="accuracy")


def test_paper_preset_scores_all_validation_pairs_with_label_smoothing(
    tmp_path, mini_space, compose
):
    """HAT's validate_all: every validation pair, the label-smoothed training criterion."""
    from omegaconf import OmegaConf

    from llmpp.config import build
    from llmpp.data.datamodule import TranslationDataModule
    from llmpp.pipeline.plan import step_config
    from llmpp.registry import steps
    from llmpp.training.objective import label_smoothed_loss

    task = load_task_config("synthetic_en_de")
    task.vocab_size = 200
    task.data.sizes = {"train": 40, "valid": 230, "test": 4}  # more than llmpp's 200
    module = TranslationModule(space_name="hat_mini", space_spec=mini_space.spec(),
                               vocab_size=200, task=OmegaConf.to_container(task))
    search = step_config(compose("run", ["experiment=hsnas_wmt14_en_de_100ms"]),
                         next(s for s in steps() if s.name == "search"), {})
    node = OmegaConf.to_container(search.search.predictors.supernet, resolve=False)
    node["checkpoint"] = None
    data = TranslationDataModule(OmegaConf.to_container(task), max_tokens=4096)
    data.setup()
    predictor = build(OmegaConf.create(node), "predictors.supernet", module=module,
                      datamodule=data)
    predictor.setup(TaskContext(task=TaskSpec.from_config(task), space=mini_space))
    arch = mini_space.smallest()
    score = predictor.predict([arch])[0]
    assert predictor.cost()["pairs_scored"] == 230
    model = module.run_arch(arch).eval()
    smoothed, tokens = 0.0, 0
    with torch.no_grad():
        for batch in data.loader("valid", shuffle=False):
            loss, _, n = label_smoothed_loss(model(batch["src"], batch["tgt_in"]),
                                             batch["tgt_out"], 0.1)
            smoothed, tokens = smoothed + float(loss), tokens + n
    assert score == pytest.approx(-smoothed / tokens, rel=1e-5)
