"""The paper presets reach the objects: accumulation, HAT's model options, BLEU protocol."""

from __future__ import annotations

import pytest
from omegaconf import open_dict

from llmpp.config import build
from llmpp.pipeline.plan import step_config
from llmpp.stages.registry import steps

STEPS = {step.name: step for step in steps()}
PRESET = "experiment=hsnas_wmt14_en_de_100ms"


@pytest.mark.parametrize(("devices", "nodes", "expected"), [(1, 1, 128), (8, 1, 16), (8, 2, 8)])
def test_accumulation_keeps_hats_effective_batch(devices, nodes, expected, compose) -> None:
    cfg = compose("run", [PRESET, f"supernet.trainer.devices={devices}",
                          f"supernet.trainer.num_nodes={nodes}"])
    assert step_config(cfg, STEPS["supernet"], {}).trainer.accumulate_grad_batches == expected


def test_accumulation_reaches_the_trainer(compose, tmp_path) -> None:
    from llmpp.training.runner import build_trainer

    cfg = compose("run", [PRESET])
    trainer_cfg = step_config(cfg, STEPS["supernet"], {}).trainer
    with open_dict(trainer_cfg):
        trainer_cfg.accelerator = "cpu"  # the preset targets a GPU
    trainer = build_trainer(trainer_cfg, out_dir=tmp_path)
    assert trainer.accumulate_grad_batches == 128


def test_hats_model_and_schedules_reach_the_modules(compose, paper_space) -> None:
    from llmpp.training.runner import build_module

    cfg = compose("run", [PRESET])
    for step, schedule in (("supernet", "hat_supernet"), ("retrain", "hat_subnet")):
        step_cfg = step_config(cfg, STEPS[step], {})
        optim = build(step_cfg.optim, "optim")
        assert optim.schedule == schedule
        module = build_module(step_cfg.model, space=paper_space, task=step_cfg.task,
                              optim=optim, seed=0,
                              arch=paper_space.smallest().to_hat() if step == "retrain" else None)
        assert module.hparams.positions == "sliced" and module.hparams.scale_dropout
        assert module.hparams.dropout == 0.3


def test_the_paper_retrain_uses_hats_bleu_and_the_paper_distill(compose) -> None:
    cfg = compose("run", [PRESET])
    retrain = step_config(cfg, STEPS["retrain"], {})
    assert (retrain.beam, retrain.length_penalty) == (4, 0.6)
    assert retrain.bleu_reported == "bleu_tokenized_compound"
    distill = step_config(cfg, STEPS["distill"], {})
    assert (distill.regressor.steps, distill.regressor.lr) == (15000, 1.0e-5)
    label = step_config(cfg, STEPS["label"], {})
    assert len(label.pool_seeds) == 6 and label.predictor.prompt.variant
