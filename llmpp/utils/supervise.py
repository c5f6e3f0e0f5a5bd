"""``python -m llmpp.utils.supervise <parent pid> -- <command...>``: a parent-death watchdog.

Runs ``command`` as its child and ends it (SIGTERM, then SIGKILL after a grace period)
when the watched parent dies, or when the watchdog itself is asked to stop (SIGTERM,
SIGINT). The child also carries a parent-death signal on Linux, so killing the watchdog
itself ends the child too. Exits with the child's status. See ``llmpp.utils.orphans``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from types import FrameType

POLL_SECONDS = 0.2  # how long an orphaned child outlives its parent, at most (plus grace)
GRACE_SECONDS = 5.0


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m llmpp.utils.supervise <parent pid> -- <command...>",
              file=sys.stderr)
        return 2
    parent, command = int(argv[0]), argv[2:]
    if os.getppid() != parent:  # the parent died while this watchdog started
        return 1
    from llmpp.utils.orphans import set_parent_death_signal

    # The watchdog is single-threaded, so the child may arm its signal before exec.
    child = subprocess.Popen(command, preexec_fn=set_parent_death_signal)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        _stop(child)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while True:
        try:
            code = child.wait(timeout=POLL_SECONDS)
            return code if code >= 0 else 128 - code  # killed by a signal: 128 + its number
        except subprocess.TimeoutExpired:
            pass
        if os.getppid() != parent:
            _stop(child)
            return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
