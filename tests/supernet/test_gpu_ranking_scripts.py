"""The prepared GPU ranking and search scripts: they skip without CUDA, and every
``llmpp`` command they would run composes, its supernet buildable (checked in dry-run)."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ("gpu_ranking.sh", "gpu_search.sh")


def dry_run(script: str, out: Path) -> list[list[str]]:
    """The command lines the script prints with DRY_RUN=1."""
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / script), str(out)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DRY_RUN": "1"})
    assert proc.returncode == 0, proc.stderr
    return [shlex.split(line[3:]) for line in proc.stdout.splitlines() if line.startswith("== ")]


def llmpp_commands(commands: list[list[str]]) -> list[tuple[str, list[str]]]:
    found = []
    for argv in commands:
        if argv[0] == "llmpp":
            argv = argv[1:]
        elif argv[1:3] == ["-m", "llmpp.cli"]:
            argv = argv[3:]
        else:
            continue
        found.append((argv[0], [a for a in argv[1:] if not a.startswith("hydra.")]))
    return found


@pytest.mark.skipif(torch.cuda.is_available(), reason="with CUDA the scripts really train")
@pytest.mark.parametrize("script", SCRIPTS)
def test_gpu_scripts_skip_without_cuda(script, tmp_path) -> None:
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / script), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "skipped" in proc.stdout and not (tmp_path / "out").exists()


@pytest.mark.parametrize("dry_run_flag", ["0", "1"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_a_batch_that_does_not_divide_hat_s_update_is_one_line_and_exit_2(
    script, dry_run_flag, tmp_path
) -> None:
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / script), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DRY_RUN": dry_run_flag, "BATCH_TOKENS": "3000"})
    assert proc.returncode == 2 and proc.stdout == "" and not (tmp_path / "out").exists()
    assert proc.stderr.strip().splitlines() == [
        "BATCH_TOKENS=3000 does not divide an update of 128 x 4096 tokens; use e.g. 4096 or 32768"]


@pytest.mark.slow
def test_every_command_composes_and_each_supernet_builds(tmp_path, compose) -> None:
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from llmpp.config import build
    from llmpp.training.runner import build_module

    ranking = llmpp_commands(dry_run("gpu_ranking.sh", tmp_path / "r"))
    search = dry_run("gpu_search.sh", tmp_path / "s")
    assert [stage for stage, _ in ranking] == ["supernet", *["benchmark"] * 3] * 3
    assert any("search_discriminate.py" in " ".join(argv) for argv in search)
    space = instantiate(OmegaConf.load(ROOT / "conf" / "space" / "hat_mini.yaml"))
    kinds = []
    for stage, overrides in [*ranking, *llmpp_commands(search)]:
        cfg = compose(stage, overrides)
        assert (cfg.task.name, cfg.space.name) == ("wmt14_en_de", "hat_space0")
        if stage != "supernet":
            continue
        assert cfg.trainer.max_steps == 40000 and cfg.optim.warmup_steps == 10000
        # HAT's update (8 GPUs x 16 batches of 4096 tokens) for every kind, whatever the batch
        assert cfg.trainer.accumulate_grad_batches * cfg.data.max_tokens == 128 * 4096
        task = OmegaConf.merge(cfg.task, {"vocab_size": 64})
        module = build_module(cfg.model, space=space, task=task,
                              optim=build(cfg.optim, "optim"), seed=0)
        kinds.append(type(module.model).__name__)
    assert kinds == ["SuperTransformer", "LayerMoS", "NeuronMoS", "SuperTransformer"]
