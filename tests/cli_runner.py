"""``llmpp <args>`` run inside the test process, as a fresh process would see it.

A subprocess pays 10-40 s on two busy cores to import torch and Lightning before a
stage does anything; most CLI tests only need what the user sees: the exit code,
stdout and stderr. ``run_cli`` calls the console script's own entry
(``llmpp.cli.main``: compose and check the overrides, then the stage's Hydra app)
with what a process would start from — the given working directory and environment,
fresh Hydra singletons, Python's default warning filters and no logging handlers —
and puts everything back afterwards, so one test cannot leak into the next.

What it cannot see: output written by C code straight to the file descriptors, a
crash that kills the interpreter, and behaviour of a second process (DDP relaunch,
signals). Tests about those keep a real subprocess.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import traceback
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

# Python's own filters when started without -W (see the `warnings` module documentation).
_DEFAULT_FILTERS = (
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, None),
    ("ignore", PendingDeprecationWarning, None),
    ("ignore", ImportWarning, None),
    ("ignore", ResourceWarning, None),
)


def run_cli(
    args: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    unset: Sequence[str] = (),
) -> subprocess.CompletedProcess:
    """Run ``llmpp *args`` in this process; return what a subprocess run would.

    Args:
        args: the command line after ``llmpp``.
        cwd: the working directory of the run (Hydra's relative run dirs land there).
        env: variables set for the run on top of the current environment.
        unset: variables removed for the run.

    Returns:
        A ``CompletedProcess`` with ``returncode``, ``stdout`` and ``stderr`` (text).
    """
    out, err = io.StringIO(), io.StringIO()
    with _process_state(cwd, env, unset), _streams(out, err), _fresh_warnings(), _no_logging():
        code = _call_main(list(args))
    return subprocess.CompletedProcess(["llmpp", *args], code, out.getvalue(), err.getvalue())


def _call_main(argv: list[str]) -> int:
    from llmpp.cli import main

    try:
        return int(main(argv) or 0)
    except SystemExit as exc:  # stage errors (`fail`), Hydra's own exits, --help
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)  # sys.exit("message") prints it and exits 1
        return 1
    except KeyboardInterrupt:
        traceback.print_exc()
        return 130
    except BaseException:  # what the interpreter does with an uncaught exception
        traceback.print_exc()
        return 1
    finally:
        _clear_hydra()


def _clear_hydra() -> None:
    """Hydra keeps its config search path and the job's config in process-wide singletons."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    GlobalHydra.instance().clear()
    HydraConfig.instance().cfg = None  # type: ignore[assignment]


@contextlib.contextmanager
def _process_state(
    cwd: str | Path | None, env: Mapping[str, str] | None, unset: Sequence[str]
) -> Iterator[None]:
    """Working dir, environment, argv and ``__main__``'s spec, restored afterwards."""
    saved_env, saved_cwd, saved_argv = dict(os.environ), os.getcwd(), list(sys.argv)
    main_module = sys.modules.get("__main__")
    saved_spec = getattr(main_module, "__spec__", None)
    _clear_hydra()
    try:
        for name in unset:
            os.environ.pop(name, None)
        os.environ.update(env or {})
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv[:] = saved_argv
        if main_module is not None:
            main_module.__spec__ = saved_spec


@contextlib.contextmanager
def _streams(out: io.StringIO, err: io.StringIO) -> Iterator[None]:
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()


@contextlib.contextmanager
def _fresh_warnings() -> Iterator[None]:
    """Python's default filters, and warnings printed to (the captured) stderr.

    pytest records warnings instead of printing them and applies the project's filters;
    a user's process prints them, and "one line on stderr" must count them.
    """
    with warnings.catch_warnings():
        warnings.resetwarnings()
        for action, category, module in reversed(_DEFAULT_FILTERS):
            warnings.filterwarnings(action, category=category, module=module or "")

        def show(message, category, filename, lineno, file=None, line=None) -> None:
            sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

        warnings.showwarning = show
        yield


@contextlib.contextmanager
def _no_logging() -> Iterator[None]:
    """The root logger as a new process has it: no handlers (pytest's set aside), WARNING.

    With no handler Python's last-resort handler prints warnings to stderr, as it does in
    a process where Hydra has not configured logging yet. Hydra's job logging replaces
    the root handlers; they are closed and pytest's put back afterwards.
    """
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    # Lightning gives its loggers a handler on sys.stderr when it is first imported with
    # no root handler; point such handlers at this run's stderr.
    own = [
        handler
        for logger in list(logging.root.manager.loggerDict.values())
        if isinstance(logger, logging.Logger)
        for handler in logger.handlers
        if type(handler) is logging.StreamHandler
    ]
    saved_streams = [handler.stream for handler in own]
    for handler in own:
        _point(handler, sys.stderr)
    for handler in saved_handlers:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    saved_disable = logging.root.manager.disable
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            with contextlib.suppress(Exception):
                handler.close()
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
        logging.disable(saved_disable)
        for handler, stream in zip(own, saved_streams, strict=True):
            _point(handler, stream)


def _point(handler: logging.StreamHandler, stream) -> None:
    """``setStream`` without its flush: the old stream may be a capture pytest has closed."""
    with handler.lock or contextlib.nullcontext():
        handler.stream = stream
