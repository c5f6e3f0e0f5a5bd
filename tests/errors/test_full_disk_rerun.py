"""A disk that fills during training, end to end: `llmpp supernet` ends in one line and exit
2, keeps the last good checkpoint and no partial file, and the same command run again once
there is space continues from that checkpoint to the end.

The failure is the kernel's, not a mocked exception: the second checkpoint is written by
the real writer under a file-size limit (EFBIG, which the stage reports like ENOSPC).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

import llmpp.training.checkpoint_io as checkpoint_io

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "supernet"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "utils"))
from cli_runner import run_cli  # noqa: E402
from helpers_supernet import TINY_TASK  # noqa: E402
from test_atomic_checkpoint import file_size_limit  # noqa: E402


def _saved_step(path: Path) -> int:
    return int(torch.load(path, map_location="cpu", weights_only=False)["global_step"])


@pytest.mark.slow  # two tiny trainings of the supernet, in-process
def test_a_full_disk_mid_training_is_one_line_and_the_rerun_continues(
        tmp_path, monkeypatch) -> None:
    run_dir = tmp_path / "run"
    command = ["supernet", *TINY_TASK, "trainer.max_steps=4", "trainer.val_check_interval=4",
               "eval_bleu_limit=1", "eval_archs=[smallest]",
               "callbacks.checkpoint.every_n_train_steps=2", f"hydra.run.dir={run_dir}"]
    real_write = checkpoint_io.write_torch
    failed_file: list[Path] = []

    def disk_full_from_step_4(path, payload):
        if int(payload["global_step"]) == 4 and not failed_file:  # the disk fills here
            failed_file.append(Path(path))
            with file_size_limit(1024):
                return real_write(path, payload)
        return real_write(path, payload)

    monkeypatch.setattr(checkpoint_io, "write_torch", disk_full_from_step_4)
    failed = run_cli(command)
    last = run_dir / "checkpoints" / "last.ckpt"
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert failed.returncode == 2, failed.stderr
    assert failed_file and len(lines) == 1 and str(failed_file[0]) in lines[0], lines
    assert _saved_step(last) == 2, "the last good checkpoint was lost"
    left = sorted(p.name for p in last.parent.iterdir())
    assert not [n for n in left if n.startswith(".") or n.endswith(".tmp")], left
    assert all(_saved_step(last.parent / n) == 2 for n in left), "a partial checkpoint left"
    assert not (run_dir / "supernet.json").exists(), "a result written for a failed run"

    monkeypatch.setattr(checkpoint_io, "write_torch", real_write)  # space freed
    again = run_cli(command)
    assert again.returncode == 0, again.stderr
    result = json.loads((run_dir / "supernet.json").read_text())
    assert result["resumed_from"] == str(last) and result["steps"] == 4
    assert _saved_step(last) == 4
