"""Progress: a bar on a terminal, a few status lines in a log file."""

import io
import logging

import pytest

from llmpp.utils import progress
from llmpp.utils.progress import StatusLine, progress_bar


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_not_a_terminal_gives_a_dozen_lines_not_thousands(monkeypatch, caplog) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    caplog.set_level(logging.INFO, logger="llmpp.progress")
    bar = progress_bar(total=1000, desc="LLM-PP wmt14_en_de", unit="req")
    assert isinstance(bar, StatusLine)
    for _ in range(1000):
        bar.update(1)
        bar.set_postfix_str("calls=3 hits=0", refresh=False)
    bar.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "llmpp.progress"]
    assert 10 <= len(lines) <= 11
    assert lines[-1].startswith("LLM-PP wmt14_en_de: 1000/1000 req (100 %)")
    assert "calls=3 hits=0" in lines[-1]


def test_time_trigger_reports_slow_work(monkeypatch, caplog) -> None:
    clock = iter(float(t) for t in range(0, 1000, 31))
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    caplog.set_level(logging.INFO, logger="llmpp.progress")
    bar = StatusLine(total=10_000, desc="search", unit="it")
    bar.update(1)  # 31 s later: a line although far below 10 %
    bar.set_postfix(best="27.1")
    bar.update(1)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "search: 2/10000 it (0 %)" in lines[1] and "best=27.1" in lines[1]


def test_terminal_gets_tqdm_and_disable_gets_silence(monkeypatch, caplog) -> None:
    from tqdm.auto import tqdm

    monkeypatch.setattr("sys.stderr", FakeTerminal())
    bar = progress_bar(total=3, desc="x", leave=False)
    assert isinstance(bar, tqdm)
    bar.close()
    caplog.set_level(logging.INFO, logger="llmpp.progress")
    with progress_bar(total=3, desc="quiet", disable=True) as silent:
        silent.update(3)
    assert not caplog.records


@pytest.mark.parametrize("stream", [None, object()])
def test_odd_streams_count_as_not_a_terminal(monkeypatch, stream) -> None:
    monkeypatch.setattr("sys.stderr", stream)
    assert isinstance(progress_bar(total=1), StatusLine)
