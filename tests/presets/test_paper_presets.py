"""The paper presets reach the objects: accumulation, HAT's model options, BLEU protocol."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import open_dict

from llmpp.config import build
from llmpp.pipeline.plan import step_config
from llmpp.registry import steps

STEPS = {step.name: step for step in steps()}
CONF = Path(__file__).resolve().parents[2] / "conf"
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
    step = step_config(cfg, STEPS["supernet"], {})
    trainer = build_trainer(trainer_cfg, out_dir=tmp_path,
                            val_check_interval_updates=step.val_check_interval_updates)
    assert trainer.accumulate_grad_batches == 128
    # Lightning counts val_check_interval in batches: 2,000 updates x 128 batches each.
    assert trainer.val_check_interval == 2000 * 128


@pytest.mark.parametrize(("devices", "expected"), [(1, 128), (8, 16)])
def test_validation_runs_every_2000_updates_on_any_gpu_count(devices, expected, compose) -> None:
    from llmpp.training.runner import validation_in_updates

    cfg = compose("run", [PRESET, f"supernet.trainer.devices={devices}",
                          f"retrain.trainer.devices={devices}"])
    for step in ("supernet", "retrain"):
        step_cfg = step_config(cfg, STEPS[step], {})
        trainer_cfg = validation_in_updates(step_cfg.trainer, step_cfg.val_check_interval_updates)
        assert trainer_cfg.val_check_interval == 2000 * expected


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
        assert module.model.activation_dropout == 0.0  # HAT: none after the FFN's ReLU
        assert module.model.scale_encoder_attention_dropout is False
        assert module.model.normalize_before is False  # HAT: post-norm layers


def test_the_paper_retrain_uses_hats_bleu_and_the_paper_distill(compose) -> None:
    cfg = compose("run", [PRESET])
    retrain = step_config(cfg, STEPS["retrain"], {})
    assert (retrain.beam, retrain.length_penalty) == (4, 0.6)
    assert retrain.bleu_reported == "bleu_tokenized_compound"
    assert (retrain.max_len_a, retrain.max_len_b) == (0, 200)  # HAT's test.sh
    assert retrain.score_checkpoint == "best"  # HAT's checkpoint_best.pt
    search = step_config(cfg, STEPS["search"], {})
    assert search.search.predictors.supernet.valid_limit is None
    assert search.search.predictors.supernet.label_smoothing == 0.1
    distill = step_config(cfg, STEPS["distill"], {})
    assert (distill.regressor.steps, distill.regressor.lr) == (15000, 1.0e-5)
    assert distill.regressor.features == "authors"  # (1 + mean raw) / 3
    label = step_config(cfg, STEPS["label"], {})
    assert len(label.pool_seeds) == 6 and label.predictor.prompt.variant


def test_a_short_run_validates_every_n_updates_under_accumulation(tmp_path) -> None:
    """Measured, not assumed: with 3 batches per update, validation at updates 2, 4, 6."""
    import lightning as L
    import torch
    from omegaconf import OmegaConf
    from torch.utils.data import DataLoader, TensorDataset

    from llmpp.training.runner import build_trainer

    class Tiny(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer, self.validated_at = torch.nn.Linear(2, 1), []

        def training_step(self, batch, _):
            return self.layer(batch[0]).pow(2).mean()

        def validation_step(self, batch, index):
            if index == 0:
                self.validated_at.append(self.trainer.global_step)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    cfg = OmegaConf.load(CONF / "trainer" / "default.yaml")
    cfg.merge_with({"accelerator": "cpu", "max_steps": 6, "accumulate_grad_batches": 3,
                    "limit_val_batches": 1, "enable_progress_bar": False})
    module = Tiny()
    build_trainer(cfg, out_dir=tmp_path, val_check_interval_updates=2).fit(
        module, DataLoader(TensorDataset(torch.randn(200, 2))),
        DataLoader(TensorDataset(torch.randn(2, 2))))
    assert module.validated_at == [2, 4, 6]
