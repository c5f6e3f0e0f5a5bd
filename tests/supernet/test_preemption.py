"""Preemption as clusters do it: a signal mid-training, a checkpoint, an exit, a requeue.

Fast: the callback in a tiny in-process fit (where it saves, what it exits with, that a
launcher's requeue handler runs after the save), for every signal, and that every training
stage's trainer carries it for every signal. Slow: a real ``llmpp supernet`` /
``llmpp retrain`` process signalled from outside mid-epoch, the same command run again
(in-process: what it resumes from is on disk, not in a process), compared batch by batch
and weight by weight with an uninterrupted run (in-process too).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch
import yaml
from cli_runner import run_cli
from helpers_supernet import TINY_TASK
from lightning.pytorch.demos.boring_classes import BoringModel, RandomDataset

from llmpp.testing.batch_log import read_batch_log
from llmpp.training.preemption import (
    REQUEUE_EXIT_CODE,
    Preempted,
    PreemptionCheckpoint,
    requeue_slurm_job,
)
from llmpp.training.rng_state import TrainingRngState

HANDLED = (signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)


@pytest.fixture
def own_signal_handlers():
    """Whatever a test installs, the test process gets its handlers back."""
    saved = {s: signal.getsignal(s) for s in HANDLED}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


class SignalAt(L.Callback):
    """Send ``signum`` to this process after the ``at``-th training batch (1-based)."""

    def __init__(self, at: int, signum: int) -> None:
        self.at, self.signum, self.batches = at, signum, 0

    def on_train_batch_end(self, *args, **kwargs) -> None:
        self.batches += 1
        if self.batches == self.at:
            os.kill(os.getpid(), self.signum)


def _fit(tmp_path: Path, *callbacks: L.Callback, accumulate: int = 1) -> Path:
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    trainer = L.Trainer(
        max_steps=20, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
        accumulate_grad_batches=accumulate, default_root_dir=str(tmp_path),
        callbacks=[*callbacks, PreemptionCheckpoint(ckpt)],
    )
    trainer.fit(BoringModel())
    return ckpt


def _saved_step(ckpt: Path) -> int:
    return int(torch.load(ckpt, weights_only=False)["global_step"])


@pytest.mark.parametrize("signum", HANDLED, ids=lambda s: s.name)
def test_signal_saves_after_the_step_and_exits_with_the_requeue_status(
    tmp_path, own_signal_handlers, signum
):
    for s in HANDLED:
        signal.signal(s, signal.SIG_DFL)  # a plain run: no launcher handler installed
    with pytest.raises(Preempted) as stopped:
        _fit(tmp_path, SignalAt(3, signum))
    assert stopped.value.code == REQUEUE_EXIT_CODE and stopped.value.signum == signum
    assert _saved_step(tmp_path / "checkpoints" / "last.ckpt") == 3
    # Outside fit the handlers are the ones from before it again.
    assert all(signal.getsignal(s) is signal.SIG_DFL for s in HANDLED)


def test_a_launchers_requeue_handler_runs_after_the_checkpoint(tmp_path, own_signal_handlers):
    """submitit installs its requeue handler before the job runs; it must see the save."""
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    calls: list[tuple[int, bool]] = []

    def requeue(signum, frame):  # what submitit's checkpoint_and_try_requeue does last
        calls.append((signum, ckpt.is_file()))
        sys.exit(-1)

    signal.signal(signal.SIGUSR2, requeue)
    with pytest.raises(SystemExit) as stopped:
        _fit(tmp_path, SignalAt(4, signal.SIGUSR2))
    assert calls == [(signal.SIGUSR2, True)] and stopped.value.code == -1
    assert _saved_step(ckpt) == 4


def test_no_checkpoint_inside_a_gradient_accumulation(tmp_path, own_signal_handlers):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with pytest.raises(Preempted):
        _fit(tmp_path, SignalAt(3, signal.SIGTERM), accumulate=2)
    # Batch 3 is half of update 2: the save waits for batch 4, which completes it.
    assert _saved_step(tmp_path / "checkpoints" / "last.ckpt") == 2


class SignalInLastValidation(L.Callback):
    def __init__(self, max_steps: int) -> None:
        self.max_steps = max_steps

    def on_validation_batch_end(self, trainer, *args, **kwargs) -> None:
        if trainer.global_step == self.max_steps:
            os.kill(os.getpid(), signal.SIGTERM)


def test_a_signal_in_the_last_validation_still_saves_and_exits(tmp_path, own_signal_handlers):
    """Training is over, but the stage's own evaluation would outlast the grace period."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    trainer = L.Trainer(
        max_steps=4, val_check_interval=4, limit_val_batches=1, accelerator="cpu",
        logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, num_sanity_val_steps=0, default_root_dir=str(tmp_path),
        callbacks=[SignalInLastValidation(4), PreemptionCheckpoint(ckpt)],
    )
    with pytest.raises(Preempted):
        trainer.fit(BoringModel())
    assert _saved_step(ckpt) == 4


def test_a_signal_ignored_before_training_stays_ignored(tmp_path, own_signal_handlers):
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # e.g. started under a wrapper ignoring it
    ckpt = _fit(tmp_path, SignalAt(3, signal.SIGUSR1))
    assert not ckpt.exists() and signal.getsignal(signal.SIGUSR1) is signal.SIG_IGN


@pytest.fixture
def fake_scontrol(tmp_path, monkeypatch) -> Path:
    """An ``scontrol`` on PATH that records its arguments (no cluster here)."""
    calls = tmp_path / "scontrol_calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "scontrol"
    script.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


def test_a_slurm_job_without_a_launcher_is_requeued_after_the_checkpoint(
    tmp_path, own_signal_handlers, fake_scontrol, monkeypatch
):
    """``#SBATCH --signal=USR1@90`` on a plain ``llmpp supernet`` (no submitit)."""
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    with pytest.raises(Preempted):
        _fit(tmp_path, SignalAt(2, signal.SIGUSR1))
    assert fake_scontrol.read_text().split() == ["requeue", "4242"]
    assert _saved_step(tmp_path / "checkpoints" / "last.ckpt") == 2


def test_slurm_requeue_names_the_array_task_and_survives_a_refusal(fake_scontrol):
    assert requeue_slurm_job({}) is None and not fake_scontrol.exists()
    array = {"SLURM_JOB_ID": "9", "SLURM_ARRAY_JOB_ID": "7", "SLURM_ARRAY_TASK_ID": "3"}
    assert requeue_slurm_job(array) == "7_3"
    assert fake_scontrol.read_text().split() == ["requeue", "7_3"]
    fake_scontrol.parent.joinpath("bin", "scontrol").write_text("#!/bin/sh\nexit 1\n")
    assert requeue_slurm_job({"SLURM_JOB_ID": "9"}) is None


def test_every_stage_trainer_stops_for_every_preemption_signal(tmp_path):
    """The stages build their trainers with ``build_trainer``: its callback must handle the
    signals the in-process tests above send (the slow test signals a real stage with one)."""
    from omegaconf import OmegaConf

    from llmpp.training.runner import build_trainer

    cfg = OmegaConf.create({"_target_": "lightning.Trainer", "max_steps": 1,
                            "accelerator": "cpu", "enable_progress_bar": False})
    trainer = build_trainer(cfg, out_dir=tmp_path)
    [callback] = [c for c in trainer.callbacks if isinstance(c, PreemptionCheckpoint)]
    assert set(callback.signals) == set(HANDLED)
    assert callback.checkpoint == tmp_path / "checkpoints" / "last.ckpt"


def test_requeue_status_is_submitits():
    from submitit.local.local import LOCAL_REQUEUE_RETURN_CODE

    assert REQUEUE_EXIT_CODE == LOCAL_REQUEUE_RETURN_CODE


# ---- real subprocesses -------------------------------------------------------------------
MAX_STEPS = 12
PER_EPOCH = 8  # training batches per epoch at data.max_tokens=2048: the run crosses one
RUN = [
    *TINY_TASK,
    "data.max_tokens=2048",
    f"trainer.max_steps={MAX_STEPS}",
    f"trainer.val_check_interval={MAX_STEPS}",
    "eval_bleu_limit=1",
    "callbacks=none",
    "+callbacks.batch_log._target_=llmpp.testing.batch_log.BatchLog",
]
# Time for a signal from outside to land mid-run; the uninterrupted run (signalled by no
# one) goes without: the delay is a sleep after each batch and changes nothing it trains.
DELAY = "+callbacks.batch_log.delay_s=0.4"
STAGES = {
    "supernet": ["eval_archs=[]"],
    "retrain": [],
}
SIGNAL_AFTER = 3  # batches logged before the test sends the signal
EXIT_WITHIN_S = 60


def _args(stage: str, run_dir: Path, extra: list[str]) -> list[str]:
    """The command line after ``llmpp``."""
    return [
        stage, *RUN, *STAGES[stage], *extra,
        f"+callbacks.batch_log.path={run_dir / 'batches.jsonl'}", f"hydra.run.dir={run_dir}",
    ]


def _stage_vars(cache: Path) -> dict[str, str]:
    """What every run of a stage here sets, in a process of its own or in this one."""
    return {"LLMPP_CACHE_DIR": str(cache), "WANDB_MODE": "offline"}


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, **_stage_vars(cache), "PYTHONWARNINGS": "ignore"}


def _weights(run_dir: Path, stage: str) -> dict[str, torch.Tensor]:
    ckpt = run_dir / ("arch" if stage == "retrain" else "") / "checkpoints" / "last.ckpt"
    return torch.load(ckpt, weights_only=False)["state_dict"]


def _batches(run_dir: Path) -> list[tuple[int, int, str]]:
    return [(r["epoch"], r["step"], r["batch"]) for r in read_batch_log(run_dir / "batches.jsonl")]


def _run(args: list[str], cache: Path) -> None:
    done = run_cli(args, env=_stage_vars(cache))
    assert done.returncode == 0, done.stderr[-3000:]


def _signalled(cmd: list[str], env: dict[str, str], log: Path, signum: int) -> tuple[int, float]:
    """Start ``cmd``, signal it once ``SIGNAL_AFTER`` batches are logged; (status, seconds
    from the signal to the exit). The process is killed if it outlives the test's bounds."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 600
        while len(read_batch_log(log)) < SIGNAL_AFTER:
            assert proc.poll() is None, f"the run ended before the signal: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "the run logged no training batches in 600 s"
            time.sleep(0.05)
        proc.send_signal(signum)
        sent = time.monotonic()
        try:
            status = proc.wait(timeout=EXIT_WITHIN_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {EXIT_WITHIN_S} s after {signal.Signals(signum).name}")
        return status, time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("llmpp-cache")  # the corpus is built once for all runs


@pytest.fixture(scope="module")
def arch_file(tmp_path_factory) -> Path:
    from llmpp.config import build, compose

    space = build(compose("retrain", TINY_TASK).space, "space")
    path = tmp_path_factory.mktemp("arch") / "arch.yaml"
    path.write_text(yaml.safe_dump(space.smallest().to_hat()))
    return path


def _extra(stage: str, arch_file: Path) -> list[str]:
    return [f"arch={arch_file}"] if stage == "retrain" else []


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, cache, arch_file):
    """Each stage's run without a signal: its batches and final weights (one run each)."""
    runs: dict[str, tuple[list, dict]] = {}

    def get(stage: str):
        if stage not in runs:
            run_dir = tmp_path_factory.mktemp(f"{stage}-uninterrupted")
            _run(_args(stage, run_dir, _extra(stage, arch_file)), cache)
            runs[stage] = (_batches(run_dir), _weights(run_dir, stage))
        return runs[stage]

    return get


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stage", "signum"),
    # One signal per stage: that each signal is handled alike is the fast tests' part.
    [("supernet", signal.SIGUSR1), ("retrain", signal.SIGTERM)],
    ids=["supernet-SIGUSR1", "retrain-SIGTERM"],
)
def test_preempted_run_resumes_mid_epoch_and_ends_as_the_uninterrupted_one(
    tmp_path, cache, arch_file, uninterrupted, stage, signum
):
    expected_batches, expected_weights = uninterrupted(stage)
    assert len(expected_batches) == MAX_STEPS and expected_batches[-1][0] == 1
    run_dir = tmp_path / "run"
    args = [*_args(stage, run_dir, _extra(stage, arch_file)), DELAY]
    cmd = [str(Path(sys.executable).with_name("llmpp")), *args]
    status, seconds = _signalled(cmd, _env(cache), run_dir / "batches.jsonl", signum)
    assert status == REQUEUE_EXIT_CODE and seconds < EXIT_WITHIN_S
    before = _batches(run_dir)
    saved = torch.load(_weights_path(run_dir, stage), weights_only=False)
    # Saved after the last batch the first process trained, inside the first epoch.
    assert saved["global_step"] == len(before) and 0 < len(before) < PER_EPOCH

    _run(args, cache)  # the requeued job: the same command
    after = _batches(run_dir)[len(before):]
    assert after[0][1] == len(before) + 1  # the next optimizer step ...
    assert before + after == expected_batches  # ... and every batch once, in the same order
    weights = _weights(run_dir, stage)
    assert weights.keys() == expected_weights.keys()
    assert all(torch.equal(weights[k], expected_weights[k]) for k in weights)


def _weights_path(run_dir: Path, stage: str) -> Path:
    return run_dir / ("arch" if stage == "retrain" else "") / "checkpoints" / "last.ckpt"


class Draws(BoringModel):
    """Records one draw from torch's generator per training step (what dropout does)."""

    def __init__(self, own_generator: bool) -> None:
        super().__init__()
        self.draws: list[float] = []
        self.own_generator = own_generator

    def training_step(self, batch, batch_idx):
        self.draws.append(float(torch.rand(())))
        return super().training_step(batch, batch_idx)

    def train_dataloader(self):
        # llmpp's loaders have their own generator (their iterators draw from it);
        # without one, starting an iterator draws from torch's.
        generator = torch.Generator().manual_seed(0) if self.own_generator else None
        return torch.utils.data.DataLoader(RandomDataset(32, 64), batch_size=2,
                                           generator=generator)


def _fit_draws(
    tmp_path: Path, own_generator: bool, *callbacks: L.Callback, ckpt: Path | None = None
) -> list[float]:
    module = Draws(own_generator)
    trainer = L.Trainer(
        max_steps=2 * 4, limit_train_batches=4, accelerator="cpu", logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        limit_val_batches=0, default_root_dir=str(tmp_path),
        callbacks=[*callbacks, TrainingRngState()],
    )
    try:
        trainer.fit(module, ckpt_path=ckpt, weights_only=False)
    except Preempted:
        pass
    return module.draws


# After batch 2 (mid-epoch) and after batch 4 (the epoch's last). A loader drawing from
# torch's generator is exact mid-epoch only: the state comes back after the resumed run's
# extra iterator, but the uninterrupted run's next-epoch iterator draw is not replayed.
@pytest.mark.parametrize(("stop_after", "own_generator"), [(2, True), (4, True), (2, False)])
def test_random_state_resumes_where_the_uninterrupted_run_had_it(
    tmp_path, own_signal_handlers, stop_after, own_generator
):
    torch.manual_seed(0)
    full = _fit_draws(tmp_path / "full", own_generator)
    torch.manual_seed(0)
    ckpt = tmp_path / "cut" / "checkpoints" / "last.ckpt"
    first = _fit_draws(tmp_path / "cut", own_generator, SignalAt(stop_after, signal.SIGTERM),
                       PreemptionCheckpoint(ckpt))
    torch.manual_seed(0)  # the restarted process seeds as the stage does
    rest = _fit_draws(tmp_path / "cut", own_generator, ckpt=ckpt)
    assert len(full) == 8 and first == full[:stop_after]
    assert first + rest == full
