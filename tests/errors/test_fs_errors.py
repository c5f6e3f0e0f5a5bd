"""File-system problems and unusable LLM endpoints, every stage: one line, exit 2, fast.

Each row runs ``llmpp <stage> ...`` in this process (through ``llmpp.cli.main``) with
one thing the user must fix: a run dir, artifacts dir or cache dir that cannot be
written (``/proc`` refuses new entries even to root), a disk that fills up while a
result is written (``os.fsync`` made to fail with ENOSPC), or an LLM endpoint that
nothing listens on.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cli_failure import assert_clean_failure
from cli_runner import run_cli

from llmpp.errors import FileSystemError, filesystem_error

# Until the primary configs list it under hydra.callbacks (``++`` adds or keeps it).
RUN_DIR_CHECK = "++hydra.callbacks.writable_dir._target_=llmpp.utils.rundir.WritableOutputDir"

def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Case:
    args: Callable[[Path, Path], list[str]]  # (gold root, tmp dir) -> stage and overrides
    fragments: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    run_dir: bool = True  # add hydra.run.dir=<tmp>/run
    full_disk: bool = False
    slow: bool = False


def unreachable(stage: str) -> Callable[[Path, Path], list[str]]:
    def args(gold: Path, tmp: Path) -> list[str]:
        return [stage, "predictor=llm_pp", "llm=openai_compatible",
                f"llm.base_url=http://127.0.0.1:{closed_port()}/v1", "llm.model=x",
                "task=wmt14_en_de", f"benchmark.root={gold}"]
    return args


CASES: dict[str, Case] = {
    "benchmark-unwritable-run-dir": Case(
        lambda g, t: ["benchmark", "predictor=mean_demos", f"benchmark.root={g}",
                      "hydra.run.dir=/proc/forbidden", RUN_DIR_CHECK],
        ("/proc/forbidden", "hydra.run.dir="), run_dir=False,
    ),
    "benchmark-multirun-unwritable-sweep-dir": Case(
        lambda g, t: ["benchmark", "-m", "predictor=mean_demos", f"benchmark.root={g}",
                      "hydra.sweep.dir=/proc/forbidden/sweep", RUN_DIR_CHECK],
        ("/proc/forbidden", "hydra.sweep.dir="), run_dir=False,
    ),
    "benchmark-unwritable-cache-dir": Case(
        unreachable("benchmark"), ("/proc/x", "LLMPP_CACHE_DIR="),
        env={"LLMPP_CACHE_DIR": "/proc/x"},
    ),
    # `llmpp run` imports every stage (torch, Lightning) before its first step.
    "run-unwritable-artifacts": Case(
        lambda g, t: ["run", "run.artifacts=/proc/forbidden", "logger=none"],
        ("/proc/forbidden", "run.artifacts="), slow=True,
    ),
    "benchmark-full-disk": Case(
        lambda g, t: ["benchmark", "predictor=mean_demos", f"benchmark.root={g}"],
        ("benchmark.json", "no space left", " free of "), full_disk=True,
    ),
    "label-unreachable-endpoint": Case(unreachable("label"), ("unreachable", "llm.base_url")),
}


def full_disk(fd: int) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def llmpp(case: Case, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    with pytest.MonkeyPatch.context() as patch:
        if case.full_disk:  # from the first write on: the config checks write nothing
            patch.setattr(os, "fsync", full_disk)
        return run_cli(args, cwd=cwd, env=case.env, unset=["OPENAI_API_KEY"])


PARAMS = [
    pytest.param(name, marks=[pytest.mark.slow] if case.slow else [], id=name)
    for name, case in CASES.items()
]


@pytest.mark.parametrize("name", PARAMS)
def test_one_line_exit_2(name, tmp_path, gold_root) -> None:
    case = CASES[name]
    run = tmp_path / "run"
    args = case.args(gold_root, tmp_path) + ([f"hydra.run.dir={run}"] if case.run_dir else [])
    assert_clean_failure(llmpp(case, args, tmp_path), run, case.fragments)


def test_unreachable_endpoint_costs_no_more_than_start_up(tmp_path, gold_root) -> None:
    """The issue's command used to retry for 70 s; now it ends as fast as a missing key.

    Both runs use the same modules and fail before any LLM call would be answered,
    so their difference is the time spent on the endpoint, whatever the machine's load.
    """
    timings = {}
    for name, extra in [
        # In one process the first run pays the imports: warm up, then time both.
        ("warm-up", ["llm=openai", "predictor=llm_pp", "task=wmt14_en_de",
                     f"benchmark.root={gold_root}"]),
        ("missing key", ["llm=openai", "predictor=llm_pp", "task=wmt14_en_de",
                         f"benchmark.root={gold_root}"]),
        ("unreachable", unreachable("benchmark")(gold_root, tmp_path)[1:]),
    ]:
        run = tmp_path / name.replace(" ", "_")
        started = time.monotonic()
        proc = llmpp(Case(lambda g, t: [], ()), ["benchmark", *extra, f"hydra.run.dir={run}"],
                     tmp_path)
        timings[name] = time.monotonic() - started
        assert_clean_failure(proc, run, ())
    assert timings["unreachable"] - timings["missing key"] < 5.0, timings


@pytest.mark.parametrize(
    ("code", "path", "words"),
    [
        (errno.EACCES, "/data/run", "permission denied"),
        (errno.EROFS, "/data/run", "read-only"),
        (errno.ENOSPC, None, "no space left"),
        (errno.EDQUOT, "/data/x", "quota"),
        (errno.ENOENT, "/proc/forbidden", "cannot be created"),
    ],
)
def test_storage_errors_become_one_line(code, path, words) -> None:
    problem = filesystem_error(OSError(code, os.strerror(code), path), "set X=<dir>")
    assert isinstance(problem, FileSystemError)
    assert words in str(problem) and "set X=<dir>" in str(problem)
    assert (path or "cannot write:") in str(problem)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),  # a socket, not a path
        OSError(errno.EACCES, "Permission denied"),  # no path to name: not ours to explain
        OSError(errno.EBADF, "Bad file descriptor", "/tmp/x"),  # a bug
    ],
)
def test_other_os_errors_are_not_disguised(exc) -> None:
    assert filesystem_error(exc) is None


def test_guarded_exits_2_on_a_full_disk_and_keeps_bugs_loud(tmp_path, capsys) -> None:
    from llmpp.stages.common import guarded
    from llmpp.utils.io import write_json

    target = tmp_path / "out" / "result.json"

    def fill(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    @guarded
    def stage(cfg):
        write_json(target, {"a": 1})

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "fsync", fill)
        with pytest.raises(SystemExit) as caught:
            stage(None)
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(target) in err and "no space left" in err
    assert not target.exists() and not list(target.parent.glob(".*tmp")), "no temp file left"

    @guarded
    def buggy(cfg):
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")

    with pytest.raises(ConnectionRefusedError):
        buggy(None)


def test_an_unopenable_reply_cache_is_a_file_system_error(tmp_path) -> None:
    from llmpp.llm.cache import ReplyCache

    where = tmp_path / "a-directory.sqlite"
    where.mkdir()  # SQLite cannot open a directory as its database
    with pytest.raises(FileSystemError) as caught:
        ReplyCache(where)
    assert str(where) in str(caught.value) and "LLMPP_CACHE_DIR=" in str(caught.value)
