"""Preemption the way clusters do it: a signal, a checkpoint, an exit the launcher requeues.

A cluster ends a job with a signal and a grace period: SLURM sends SIGTERM on
preemption (SIGKILL follows after ``GraceTime``), submitit's SLURM and local launchers
send their requeue signal (``SIGUSR2``, or ``$SUBMITIT_PREEMPT_SIGNAL``) ``signal_delay_s``
before the time limit, and Lightning's own SLURM auto-requeue listens for ``SIGUSR1``.
Training ends on any of them the same way:

1. the handler only records the signal (the step being computed is finished, never
   cut: a checkpoint taken inside a step would hold half-updated state);
2. at the next optimizer-step boundary (after a training batch whose gradients were
   applied) the full training state — weights, optimizer, loops, the datamodule's
   position in the epoch — is saved atomically to ``<run dir>/checkpoints/last.ckpt``,
   the file the stages resume from;
3. the launcher's own handler for that signal, if one was installed before training
   (submitit's: it requeues the job with ``scontrol requeue``, or by its local
   executor's requeue status, and exits), runs now, after the save; without one, a
   SLURM job signalled with ``SIGUSR1``/``SIGUSR2`` (``#SBATCH --signal=USR1@90``) is
   requeued here with ``scontrol requeue``, as Lightning's SLURM auto-requeue would;
4. the process exits with ``REQUEUE_EXIT_CODE``.

Rerunning the same command resumes at the saved optimizer step and at the same batch of
the same epoch (``llmpp.data.datamodule``: the sampler skips what was consumed), so
every batch is trained on once. Lightning's own SIGTERM handling is replaced while
training runs: it stops after the batch too, but saves nothing and exits with status 0,
which a launcher reads as "finished". Outside ``fit`` (data building, final
evaluation) the signals keep their previous handlers.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L

log = logging.getLogger(__name__)

# The status submitit's local executor requeues a job on (``LOCAL_REQUEUE_RETURN_CODE``;
# a test keeps the two equal). SLURM requeues preempted jobs whatever their status, and
# submitit's SLURM handler requeues before it exits; a plain run just reports it.
REQUEUE_EXIT_CODE = 144

# SIGTERM: preemption, scancel, `kill`; SIGUSR1: Lightning's SLURM requeue signal;
# SIGUSR2: submitit's (``--signal=USR2@<signal_delay_s>``).
PREEMPTION_SIGNALS = ("SIGTERM", "SIGUSR1", "SIGUSR2")


class Preempted(SystemExit):
    """Training stopped on a preemption signal after saving ``last.ckpt``."""

    def __init__(self, signum: int, checkpoint: Path) -> None:
        super().__init__(REQUEUE_EXIT_CODE)
        self.signum, self.checkpoint = signum, checkpoint


class PreemptionCheckpoint(L.Callback):
    """Save ``checkpoint`` and exit for requeueing when a preemption signal arrives.

    Args:
        checkpoint: where the stage resumes from (``<run dir>/checkpoints/last.ckpt``).
        signals: names of the signals handled (``signal`` module names).
    """

    def __init__(self, checkpoint: Path, signals: tuple[str, ...] = PREEMPTION_SIGNALS) -> None:
        self.checkpoint = Path(checkpoint)
        self.signals = [getattr(signal, name) for name in signals if hasattr(signal, name)]
        self._previous: dict[int, Any] = {}
        self._installed = False
        self._received: int | None = None

    # ---- signal handlers --------------------------------------------------------------
    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # Before Lightning registers its own handlers (``Trainer._run``): what is
        # installed now is the launcher's (submitit's) or the default action.
        if stage == "fit" and _main_thread():
            self._previous = {s: signal.getsignal(s) for s in self.signals}

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # After Lightning's: its SIGTERM handler would stop without a checkpoint.
        if not _main_thread():
            return
        self._received = None
        for signum, previous in self._previous.items():
            if previous is not signal.SIG_IGN:  # a signal ignored on purpose stays ignored
                signal.signal(signum, self._record)
        self._installed = True

    def _record(self, signum: int, frame: FrameType | None) -> None:
        if self._received is None:
            log.warning("received %s: saving a checkpoint after the current training step, "
                        "then exiting for requeue", signal.Signals(signum).name)
            self._received = signum

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # The handlers themselves are put back by Lightning: at the end of ``fit`` (an
        # exception included) it restores those it found when it registered its own,
        # which were still the launcher's.
        self._installed = False

    # ---- stopping -----------------------------------------------------------------------
    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
        batch_idx: int,
    ) -> None:
        if self._installed and _at_step_boundary(trainer, batch_idx):
            self._stop_if_signalled(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # A signal during the last validation: training is done, but the stage's
        # evaluation may not finish before the grace period ends. Save and go.
        if self._installed:
            self._stop_if_signalled(trainer)

    def _stop_if_signalled(self, trainer: L.Trainer) -> None:
        received = self._received is not None
        if trainer.world_size > 1:  # every rank stops at the same step (the save is collective)
            received = trainer.strategy.reduce_boolean_decision(received, all=False)
        if not received:
            return
        signum = self._received if self._received is not None else int(signal.SIGTERM)
        trainer.save_checkpoint(str(self.checkpoint), weights_only=False)
        if trainer.is_global_zero:
            log.warning("preempted at step %d: saved %s; run the same command to resume",
                        trainer.global_step, self.checkpoint)
        previous = self._previous.get(signum)
        if self._received is not None and callable(previous):
            previous(signum, None)  # the launcher's requeue (submitit exits here)
        elif signum != signal.SIGTERM and trainer.is_global_zero:
            requeue_slurm_job(os.environ)  # SLURM requeues preempted (SIGTERM) jobs itself
        raise Preempted(signum, self.checkpoint)


def requeue_slurm_job(environ: Mapping[str, str]) -> str | None:
    """Put this SLURM job back in the queue (``scontrol requeue``); its id, or None.

    None outside SLURM and when ``scontrol`` refuses (an interactive allocation, a
    job not requeueable): the run is still saved, only the automatic restart is lost.
    """
    job = environ.get("SLURM_JOB_ID")
    if not job:
        return None
    if environ.get("SLURM_ARRAY_JOB_ID") and environ.get("SLURM_ARRAY_TASK_ID"):
        # One task of an array: the bare job id would requeue the whole array.
        job = f"{environ['SLURM_ARRAY_JOB_ID']}_{environ['SLURM_ARRAY_TASK_ID']}"
    try:
        done = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True,
                              timeout=60)
        problem = (done.stderr.strip() or f"exit status {done.returncode}"
                   if done.returncode else "")
    except (OSError, subprocess.TimeoutExpired) as exc:
        problem = str(exc)
    if problem:
        log.warning("could not requeue SLURM job %s (%s); run the same command to resume",
                    job, " ".join(problem.split()))
        return None
    log.warning("requeued SLURM job %s", job)
    return job


def _at_step_boundary(trainer: L.Trainer, batch_idx: int) -> bool:
    """Whether the batch just trained ended with an optimizer step (not mid-accumulation)."""
    every = int(trainer.accumulate_grad_batches)
    if every <= 1:
        return True
    return (batch_idx + 1) % every == 0 or bool(
        trainer.fit_loop.epoch_loop.batch_progress.is_last_batch)


def _main_thread() -> bool:
    # Python lets only the main thread install signal handlers (ddp_spawn workers can't).
    return threading.current_thread() is threading.main_thread()
