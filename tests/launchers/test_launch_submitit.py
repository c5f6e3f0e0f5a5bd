"""Scale-out: the submitit launcher configs, a local multirun, the Optuna sweep."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from llmpp.config import compose

ROOT = Path(__file__).resolve().parents[2]


def hydra_cfg(stage: str, overrides: list[str]):
    return compose(stage, overrides, return_hydra_config=True)


def sbatch_text(launcher_cfg, folder: Path) -> str:
    """The sbatch script submitit would submit, built the way Hydra's launcher builds it."""
    import submitit
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

    params = OmegaConf.to_container(launcher_cfg, resolve=False)
    params.pop("_target_")
    params.pop("submitit_folder")
    executor = submitit.AutoExecutor(
        cluster="slurm", folder=folder, slurm_max_num_timeout=params.pop("max_num_timeout")
    )
    base = set(OmegaConf.structured(BaseQueueConf).keys())
    params["name"] = "supernet"
    executor.update_parameters(**{k if k in base else f"slurm_{k}": v for k, v in params.items()})
    return executor._executor._make_submission_file_text("python -u job", "uid")


@pytest.fixture
def fake_srun(tmp_path, monkeypatch):
    """submitit's SLURM executor refuses to start where ``srun`` is not on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    srun = bin_dir / "srun"
    srun.write_text("#!/bin/sh\nexit 0\n")
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_slurm_gpu_multi_node_ddp_renders_the_sbatch_header(tmp_path, fake_srun) -> None:
    cfg = hydra_cfg(
        "supernet",
        [
            "hydra/launcher=slurm_gpu",
            "hydra.launcher.nodes=2",
            "hydra.launcher.tasks_per_node=8",
            "hydra.launcher.gpus_per_node=8",
            "hydra.launcher.partition=gpu",
            "trainer.devices=8",
            "trainer.num_nodes=2",
            "trainer.strategy=ddp",
        ],
    )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (cfg.trainer.devices, cfg.trainer.num_nodes, cfg.trainer.strategy) == (8, 2, "ddp")
    text = sbatch_text(launcher, tmp_path / "submitit")
    for line in ("--nodes=2", "--ntasks-per-node=8", "--gpus-per-node=8", "--partition=gpu"):
        assert f"#SBATCH {line}" in text
    assert "srun" in text


def test_slurm_cpu_asks_for_no_gpu(tmp_path, fake_srun) -> None:
    cfg = hydra_cfg("benchmark", ["hydra/launcher=slurm_cpu", "hydra.launcher.cpus_per_task=2"])
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher")
    text = sbatch_text(cfg.hydra.launcher, tmp_path / "submitit")
    assert "#SBATCH --cpus-per-task=2" in text
    assert "--gpus" not in text and "--gres" not in text


# Each job is its own process importing torch and Lightning (the launcher's point): the
# test costs minutes of CPU on two cores, so it runs in the slow tier.
@pytest.mark.slow
def test_local_submitit_multirun_writes_every_job(tmp_path, gold_root) -> None:
    sweep = tmp_path / "sweep"
    proc = subprocess.run(
        [
            sys.executable, "-m", "llmpp.cli", "benchmark", "-m",
            "predictor=mean_demos,linear",
            "hydra/launcher=local_jobs",
            f"benchmark.root={gold_root}",
            "plots=false",
            f"hydra.sweep.dir={sweep}",
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    predictors = {
        json.loads((sweep / str(job) / "benchmark.json").read_text())["predictor"]
        for job in (0, 1)
    }
    assert predictors == {"mean_demos", "linear[params]"}
    assert list((sweep / ".submitit").glob("*/*_log.out")), "jobs ran through submitit"


def load_optuna_sweep():
    path = ROOT / "launchers" / "optuna_sweep.py"
    spec = importlib.util.spec_from_file_location("optuna_sweep", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_optuna_sweep_is_resumable(tmp_path, gold_root) -> None:
    sweep = load_optuna_sweep()
    out = tmp_path / "opt"
    base = [
        "task=wmt14_en_de",
        "predictor@teacher.predictor=linear",
        "teacher.pool=sample",
        "teacher.n_archs=60",
        "teacher.demo_seeds=[123]",
        f"benchmark.root={gold_root}",
        "regressor.max_epochs=2",
        "regressor.progress_bar=false",
    ]
    assert sweep.main(["--trials", "2", "--out", str(out), *base]) == 0
    first = json.loads((out / "best.json").read_text())
    assert first["trials_complete"] == 2
    # A rerun with a larger budget runs only the missing trial, in the same study.
    assert sweep.main(["--trials", "3", "--out", str(out), *base]) == 0
    second = json.loads((out / "best.json").read_text())
    assert second["trials_complete"] == 3
    assert sorted(p.name for p in out.glob("trial_*")) == ["trial_0000", "trial_0001", "trial_0002"]
    assert second["best"]["heldout_mae"] <= first["best"]["heldout_mae"]
    assert Path(second["best"]["checkpoint"]).is_file()


def test_optuna_sweep_bad_override_is_one_line(tmp_path, capsys) -> None:
    sweep = load_optuna_sweep()
    # optuna's own handler writes to the stderr of whichever test first used optuna in
    # this process; point it at this test's, as a fresh process's would be.
    handlers = [h for h in logging.getLogger("optuna").handlers
                if isinstance(h, logging.StreamHandler)]
    streams = [h.stream for h in handlers]
    for handler in handlers:
        handler.setStream(sys.stderr)
    try:
        code = sweep.main(["--trials", "1", "--out", str(tmp_path / "o"), "distill.nope=1"])
    finally:
        for handler, stream in zip(handlers, streams, strict=True):
            handler.setStream(stream)
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "distill.nope" in err
