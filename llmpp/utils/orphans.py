"""Child processes that end when the process that started them dies, SIGKILL included.

Two tools, for two kinds of children:

* :func:`die_with_parent`, called first thing in a Python child (a pool worker's
  initializer): Linux's parent-death signal kills it with its parent, and a parent
  that died before the call is noticed at once.
* :func:`supervised`, for a long-lived program we do not control (the local LLM server):
  the command runs under ``python -m llmpp.utils.supervise``, a small watchdog that
  polls its parent and ends the program when the parent is gone. Unlike the
  parent-death signal it does not depend on which parent *thread* started the child
  (the kernel sends that signal when the starting thread exits, which would stop a
  server started from a short-lived worker thread), and it works beyond Linux.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` when the parent (thread) dies; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    return False


def die_with_parent(parent_pid: int) -> None:
    """End this process when ``parent_pid`` (its parent) dies; at once if it already has."""
    set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def supervised(command: list[str], parent_pid: int | None = None) -> list[str]:
    """``command`` run under the watchdog that ends it when ``parent_pid`` dies.

    Args:
        command: the program and its arguments.
        parent_pid: the process whose death ends the program (default: this one).
    """
    parent = os.getpid() if parent_pid is None else parent_pid
    return [sys.executable, "-m", "llmpp.utils.supervise", str(parent), "--", *command]
