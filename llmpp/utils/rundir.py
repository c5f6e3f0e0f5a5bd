"""Check that Hydra can create the run dir before it tries, so a bad one is one line.

Hydra creates ``hydra.run.dir`` (``hydra.sweep.dir`` for ``-m``) before it calls a
stage, outside anything the stage can catch, and reports a failure there as a
traceback with exit code 1. This Hydra callback runs first: it creates the directory
(then removes what it created, so a timestamped name is not left behind twice) and
turns a file-system refusal into ``llmpp: error: ...`` and exit code 2.

Wire it into a primary config::

    hydra:
      callbacks:
        writable_dir:
          _target_: llmpp.utils.rundir.WritableOutputDir
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from llmpp.errors import filesystem_error


def probe_directory(path: Path) -> None:
    """Create ``path`` (and its missing parents), then remove what was created.

    Raises:
        OSError: the directory cannot be created (permissions, read-only, full disk).
    """
    missing = []
    here = path.absolute()
    while not here.exists() and here != here.parent:
        missing.append(here)
        here = here.parent
    path.mkdir(parents=True, exist_ok=True)
    for created in missing:  # deepest first
        try:
            created.rmdir()
        except OSError:  # something appeared there meanwhile: leave it
            break


class WritableOutputDir(Callback):
    """Exit 2 with one line when the run (or sweep) dir cannot be created."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config.hydra.run.dir, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config.hydra.sweep.dir, "hydra.sweep.dir")

    @staticmethod
    def _check(directory: Any, key: str) -> None:
        try:
            probe_directory(Path(str(directory)))
        except OSError as exc:
            problem = filesystem_error(exc, f"set {key}=<writable dir>")
            if problem is None:
                raise
            # Hydra would print a traceback for an exception here; a user error is one line.
            print(f"llmpp: error: {' '.join(str(problem).split())}", file=sys.stderr, flush=True)
            sys.exit(2)
