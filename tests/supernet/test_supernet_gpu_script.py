"""The prepared GPU benchmark script skips cleanly on a machine without CUDA."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch


@pytest.mark.skipif(torch.cuda.is_available(), reason="with CUDA the script really trains")
def test_gpu_supernet_script_skips_without_cuda(tmp_path) -> None:
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_supernet.sh"
    proc = subprocess.run(
        ["bash", str(script), str(tmp_path / "out")], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "skipped" in proc.stdout and not (tmp_path / "out").exists()


@pytest.mark.gpu
def test_supernet_trains_in_bf16_on_cuda(tmp_path, compose) -> None:
    from llmpp.stages.supernet import run_supernet

    cfg = compose(
        "supernet",
        [
            "trainer.max_steps=4",
            "trainer.val_check_interval=4",
            "trainer.precision=bf16-mixed",
            "trainer.accelerator=gpu",
            "logger=none",
            "eval_bleu_limit=4",
        ],
    )
    payload = run_supernet(cfg, tmp_path)
    assert payload["steps"] == 4 and Path(payload["checkpoint"]).is_file()
