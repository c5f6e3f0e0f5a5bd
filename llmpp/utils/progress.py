"""Progress that reads well both on a terminal and in a log file.

On a terminal a tqdm bar redraws in place; redirected to a file (``make demo >
demo.log``, a SLURM job) every redraw would become a line, thousands per run. So
when stderr is not a terminal the same calls log one status line at every 10 % of
the work or every 30 s, whichever comes first, and one at the end.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

log = logging.getLogger("llmpp.progress")


class StatusLine:
    """tqdm's ``update``/``set_postfix``/``close`` as a few log lines.

    Args:
        total: units of work (None = unknown: only the time trigger applies).
        desc: what is progressing (starts every line).
        unit: the unit's name.
        initial: units already done (a resumed run).
        every_fraction: log when this share of ``total`` more is done.
        every_seconds: log at least this often while work progresses.
    """

    def __init__(
        self,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        initial: int = 0,
        *,
        every_fraction: float = 0.1,
        every_seconds: float = 30.0,
    ) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self.n = self._logged_n = int(initial)
        self.every_fraction, self.every_seconds = every_fraction, every_seconds
        self.postfix = ""
        self._started = self._logged_at = time.monotonic()
        self._closed = False

    def update(self, n: int = 1) -> None:
        self.n += int(n)
        now = time.monotonic()
        step = self.every_fraction * self.total if self.total else None
        due = bool(step) and self.n - self._logged_n >= step
        if due or now - self._logged_at >= self.every_seconds:
            self._emit(now)

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:  # noqa: ARG002
        self.postfix = str(text)

    def set_postfix(self, ordered_dict: dict[str, Any] | None = None, **kwargs: Any) -> None:
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{key}={value}" for key, value in items.items())

    def set_description(self, desc: str = "", refresh: bool = True) -> None:  # noqa: ARG002
        self.desc = desc

    def close(self) -> None:
        if not self._closed and self.n != self._logged_n:
            self._emit(time.monotonic())
        self._closed = True

    def line(self, now: float) -> str:
        """The status text: ``desc: n/total unit (pct %), elapsed, postfix``."""
        done = f"{self.n}/{self.total}" if self.total else str(self.n)
        pct = f" ({100 * self.n / self.total:.0f} %)" if self.total else ""
        extra = f", {self.postfix}" if self.postfix else ""
        return f"{self.desc}: {done} {self.unit}{pct}, {now - self._started:.0f} s{extra}"

    def _emit(self, now: float) -> None:
        log.info("%s", self.line(now))
        self._logged_n, self._logged_at = self.n, now

    def __enter__(self) -> StatusLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Silent(StatusLine):
    """Progress switched off: the same calls, no output."""

    def _emit(self, now: float) -> None:
        pass


def progress_bar(
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    *,
    initial: int = 0,
    disable: bool | None = False,
    **tqdm_kwargs: Any,
) -> Any:
    """A tqdm bar on a terminal, else a :class:`StatusLine`; both take tqdm's calls.

    Args:
        total, desc, unit, initial: as tqdm's.
        disable: True = no output at all; None or False = decide by stderr.
        tqdm_kwargs: extra tqdm options (``leave``, ``dynamic_ncols``...), used on a
            terminal only.
    """
    if disable:
        return _Silent(total, desc, unit, initial)
    if _is_terminal(sys.stderr):
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, initial=initial, **tqdm_kwargs)
    return StatusLine(total, desc, unit, initial)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed streams
        return False
