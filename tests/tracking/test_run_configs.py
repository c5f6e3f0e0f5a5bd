"""Every W&B run carries its stage's resolved config and the plots the stage wrote."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tracking_helpers import SECRET, assert_no_secret, wait_for_run

from llmpp.stages.latency import run_latency
from llmpp.stages.retrain import run_retrain
from llmpp.stages.supernet import run_supernet

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "supernet"))
sys.path.insert(0, str(TESTS / "hardware"))
from hardware_helpers import TINY_OVERRIDES  # noqa: E402
from helpers_supernet import TINY_TASK  # noqa: E402

# The tiny supernet budget, logging to W&B (offline in tests).
TINY = [o for o in TINY_TASK if not o.startswith("logger=")] + [
    "logger=wandb", "trainer.max_steps=1", "trainer.val_check_interval=1", "eval_bleu_limit=1",
    "eval_archs=[smallest]",
]
LEAKY = "+note=key ${oc.env:OPENAI_API_KEY}"  # a user who interpolates a key into the config


def has_config(*keys: str):
    return lambda run: set(keys) <= set(run.config)


def assert_stage_config(config: dict, model: str) -> None:
    """The groups a training run compares by, besides the module's hyperparameters."""
    assert config["task"]["name"] == "synthetic_en_de"
    assert config["space"]["name"] == "hat_mini"
    assert config["model"]["supernet"]["_target_"] == model
    assert config["data"]["max_tokens"] == 512
    assert config["trainer"]["max_steps"] >= 1 and "optim" in config
    assert config["note"] == "<redacted>"


@pytest.fixture
def hydra_job(compose):
    """Run the body as inside ``llmpp <stage> <overrides>``: Hydra's job config is set."""
    from hydra.core.hydra_config import HydraConfig

    def enter(stage: str, overrides: list[str]) -> None:
        HydraConfig.instance().set_config(compose(stage, overrides, return_hydra_config=True))

    yield enter
    HydraConfig.instance().cfg = None  # later tests run outside a Hydra job


def test_supernet_run_config_names_kind_task_space_data_trainer_optim(
    compose, hydra_job, tmp_path
):
    overrides = [*TINY, "model=neuron_mos", LEAKY]
    hydra_job("supernet", overrides)
    run_supernet(compose("supernet", overrides), tmp_path)
    run = wait_for_run(tmp_path, has_config("task", "model", "choices", "sampling"))
    assert run.config["choices"]["model"] == "neuron_mos"
    assert run.config["choices"]["task"] == "synthetic_en_de"
    assert_stage_config(run.config, "llmpp.models.mos.NeuronMoS")
    assert run.config["sampling"] == "random", "Lightning still adds the module's hyperparameters"
    assert_no_secret(tmp_path)


def test_gold_run_of_several_architectures_carries_its_config(compose, tmp_path):
    """``llmpp retrain`` with a list (``llmpp run``'s gold step): its trainers log nowhere,
    the run still holds the stage's config."""
    overrides = [*TINY, "n_archs=2", "split.demos=1", "split.test=1", "split.seeds=[123]",
                 "model=layer_mos", LEAKY]
    overrides = [o for o in overrides if not o.startswith("eval_archs")]
    run_retrain(compose("retrain", overrides), tmp_path)
    run = wait_for_run(tmp_path, has_config("task", "model", "split"))
    assert_stage_config(run.config, "llmpp.models.mos.LayerMoS")
    assert run.config["split"]["demos"] == 1
    assert "choices" not in run.config, "outside a Hydra job there are no choices to log"
    assert_no_secret(tmp_path)


def test_latency_run_holds_the_fit_plot(compose, tmp_path):
    cfg = compose("latency", [*TINY_OVERRIDES, "n_archs=8", "test_fraction=0.25", "retest=0",
                              "fit.model=linear", "hardware.threads=1", "logger=wandb"])
    run_latency(cfg, tmp_path)
    run = wait_for_run(tmp_path, lambda r: "fit/_type" in r.summary)
    assert run.summary["fit/_type"] == "images/separated"
    assert (tmp_path / "latency_fit.png").stat().st_size > 0
    assert list((run.path.parent / "files").glob("media/images/fit_*.png"))


@pytest.mark.slow
def test_cli_supernet_run_config_says_neuron_mos(tmp_path):
    """`llmpp supernet model=neuron_mos logger=wandb …` end to end, in its own process."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OPENAI_API_KEY": SECRET}
    cmd = [str(Path(sys.executable).with_name("llmpp")), "supernet", *TINY, "model=neuron_mos",
           f"hydra.run.dir={tmp_path}"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run = wait_for_run(tmp_path, has_config("task", "model", "choices"))
    assert run.config["choices"]["model"] == "neuron_mos"
    assert run.config["model"]["supernet"]["_target_"] == "llmpp.models.mos.NeuronMoS"
    assert (run.config["task"]["name"], run.config["space"]["name"]) == (
        "synthetic_en_de", "hat_mini")
    assert_no_secret(tmp_path)
