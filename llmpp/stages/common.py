"""Plumbing every stage shares: turning user errors into one line, instantiation, run dirs."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from llmpp.config_check import check_config
from llmpp.errors import UserError, filesystem_error
from llmpp.utils.logs import quiet_third_party

log = logging.getLogger(__name__)
T = TypeVar("T")


def fail(message: str, code: int = 2) -> None:
    """Print one line on stderr and exit (2 = the user can fix it)."""
    # Library messages (YAML, torch) can span lines; the error is always one line.
    print(f"llmpp: error: {' '.join(str(message).split())}", file=sys.stderr, flush=True)
    sys.exit(code)


def guarded(fn: Callable[[DictConfig], T]) -> Callable[[DictConfig], T]:
    """Wrap a Hydra task function: user errors exit 2 with one line, Ctrl-C exits 130.

    File-system problems (unwritable run dir, artifacts or cache dir, read-only or full
    disk) are the user's to fix too, so they end the same way, naming the path; any
    other ``OSError`` (a socket, a bug) keeps its traceback.
    """

    def wrapper(cfg: DictConfig) -> T:
        quiet_third_party()  # after Hydra configured logging for the job
        try:
            check_stage_config(cfg)
            return fn(cfg)
        except UserError as exc:
            fail(str(exc))
        except OSError as exc:
            problem = filesystem_error(exc, _location_hint(exc.filename))
            if problem is None:
                raise
            fail(str(problem))
        except KeyboardInterrupt:
            fail("interrupted; rerun the same command to resume", code=130)
        raise AssertionError("unreachable")

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def check_stage_config(cfg: DictConfig) -> None:
    """Keys and types of the composed config, before the stage does anything.

    ``llmpp <stage>`` checks them before Hydra starts; this catches what reaches an app
    another way (``-m`` sweeps, ``python -m llmpp.stages.<stage>``, presets in sweeps).
    """
    if HydraConfig.initialized():
        check_config(cfg, str(HydraConfig.get().job.config_name))


def _location_hint(filename: object) -> str:
    """Which setting moves the location of ``filename`` (the fix of a file-system error)."""
    from llmpp.utils.paths import cache_dir

    hints = {
        "LLMPP_CACHE_DIR=<writable dir>": lambda: cache_dir(),
        "hydra.run.dir=<writable dir>": lambda: run_dir(),
    }
    if filename is not None:
        path = Path(str(filename)).absolute()
        for hint, root in hints.items():
            try:
                if path.is_relative_to(root().absolute()):
                    return f"set {hint}"
            except (ValueError, OSError):  # no Hydra run, odd cache settings
                continue
    return "set hydra.run.dir=, run.artifacts= or LLMPP_CACHE_DIR= to a writable directory"


def run_dir() -> Path:
    """The Hydra run dir of the current job."""
    return Path(HydraConfig.get().runtime.output_dir)
