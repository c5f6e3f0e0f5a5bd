"""``llmpp supernet`` end to end on a tiny corpus: training, checkpoint, resume, sampling."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers_supernet import TINY_TASK

from llmpp.errors import ConfigError
from llmpp.stages.supernet import run_supernet
from llmpp.training.module import TranslationModule


def test_sandwich_and_random_sampling_are_seeded(mini_space):
    module = TranslationModule(
        space_name="hat_mini",
        space_spec=mini_space.spec(),
        vocab_size=50,
        sampling="sandwich",
        num_random=2,
        seed=3,
    )
    archs = module.step_archs(7)
    assert (
        archs[0] == mini_space.largest() and archs[1] == mini_space.smallest() and len(archs) == 4
    )
    assert module.step_archs(7) == archs and module.step_archs(8)[2:] != archs[2:]
    random = TranslationModule(space_name="hat_mini", space_spec=mini_space.spec(), vocab_size=50)
    assert len(random.step_archs(0)) == 1 and mini_space.contains(random.step_archs(0)[0])


def test_train_checkpoint_and_resume(compose, tmp_path):
    cfg = compose(
        "supernet",
        [
            *TINY_TASK,
            "trainer.max_steps=3",
            "trainer.val_check_interval=3",
            "eval_bleu_limit=2",
            "model.sampling=sandwich",
        ],
    )
    first = run_supernet(cfg, tmp_path)
    ckpt = Path(first["checkpoint"])
    assert first["steps"] == 3 and ckpt.is_file() and first["resumed_from"] is None
    saved = torch.load(ckpt, weights_only=False)
    assert saved["llmpp"]["space_hash"] == first["space_hash"]
    report = json.loads((tmp_path / "supernet.json").read_text())
    assert set(report["subnets"]) == {"largest", "smallest"}
    assert report["subnets"]["largest"]["bleu_signature"].startswith("nrefs:1")
    # The same command in the same dir continues the run (llmpp.stages.resume): here
    # nothing is left to train. Other settings there are another run, refused.
    second = run_supernet(cfg, tmp_path)
    assert second["resumed_from"].endswith("last.ckpt") and second["steps"] == 3
    with pytest.raises(ConfigError, match="holds a supernet run with other settings"):
        run_supernet(compose("supernet", [*TINY_TASK, "trainer.max_steps=4"]), tmp_path)
    module = TranslationModule.from_checkpoint(ckpt)
    assert module.is_supernet and module.space_hash == first["space_hash"]


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [
        str(Path(sys.executable).with_name("llmpp")),
        "supernet",
        *TINY_TASK,
        "trainer.devices=2",
        "trainer.strategy=ddp",
        "trainer.max_steps=2",
        "trainer.val_check_interval=2",
        "eval_bleu_limit=2",
        f"hydra.run.dir={tmp_path}",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((tmp_path / "supernet.json").read_text())
    assert report["steps"] == 2
