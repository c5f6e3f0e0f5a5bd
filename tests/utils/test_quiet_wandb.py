"""W&B's console output per run: the few lines a user needs, no banner or advert."""

import subprocess
import sys

import pytest

SCRIPT = """
import sys
import openai  # noqa: F401 - makes W&B advertise Weave
from lightning.pytorch.loggers import WandbLogger
from llmpp.utils.logs import quiet_wandb
logger = WandbLogger(save_dir=sys.argv[1], project="llmpp-test", offline=True)
if sys.argv[2] == "quiet":
    quiet_wandb(logger)
logger.log_metrics({"val/bleu": 21.5}, step=0)
logger.experiment.finish()
"""


def wandb_lines(tmp_path, mode: str) -> list[str]:
    env = {"WANDB_MODE": "offline", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / mode), mode],
        capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("wandb:")]


@pytest.mark.slow  # a subprocess importing Lightning and W&B, and a W&B run
def test_quiet_wandb_keeps_where_the_run_is_and_drops_the_rest(tmp_path):
    # Without quiet_wandb the same run prints ~20 lines: an "anonymous" deprecation
    # warning, a Weave advert (openai is imported), run history and summary tables.
    quiet = wandb_lines(tmp_path, "quiet")
    assert not [line for line in quiet if "Weave" in line or "anonymous" in line], quiet
    assert not [line for line in quiet if "Run history" in line or "Run summary" in line]
    assert any(str(tmp_path / "quiet") in line for line in quiet), "where the run is saved"
    assert len(quiet) <= 5, quiet
