"""Start, health-check and stop the local llama.cpp server of a GGUF model.

The server (llama.cpp's OpenAI-compatible HTTP server, embedded by ``xllamacpp``:
``llmpp.llm.gguf_server``) runs as a child process on a free loopback port. It is stopped when its
owner closes it, at interpreter exit, on SIGTERM, and — because it runs under a
parent-death watchdog (``llmpp.utils.orphans.supervised``) — even when llmpp itself is
killed, SIGKILL included. Each running server is recorded in
``<cache>/llm/servers/<pid>.json``; a start first ends any recorded server whose
starting process is gone (one still shutting down after its run was killed), so a
restarted stage never holds two models in memory. Only processes started by llmpp
(their command line matches the record) are ever signalled.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

from llmpp.errors import ConfigError, LlmppError
from llmpp.llm.gguf_server import INSTALL_HINT
from llmpp.utils.orphans import supervised
from llmpp.utils.paths import cache_dir

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_SERVERS: dict[tuple, LocalServer] = {}
_HANDLERS_INSTALLED = False


class ServerStartError(LlmppError):
    """The local LLM server did not come up."""


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """One ``python -m llmpp.llm.gguf_server`` child process serving one GGUF model.

    Args:
        model_path: the GGUF file.
        alias: the model name clients send.
        n_ctx: context length in tokens (the paper's prompt needs ~2-3k).
        n_threads: CPU threads; None = all cores.
        startup_timeout: seconds to wait for the health check.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        alias: str,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        startup_timeout: float = 180.0,
    ) -> None:
        self.model_path = Path(model_path)
        self.alias = alias
        self.n_ctx = int(n_ctx)
        self.n_threads = int(n_threads or os.cpu_count() or 1)
        self.startup_timeout = float(startup_timeout)
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.log_path = cache_dir() / "llm" / "server.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self, port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "llmpp.llm.gguf_server",
            "--model",
            str(self.model_path),
            "--alias",
            self.alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n-ctx",
            str(self.n_ctx),
            "--n-threads",
            str(self.n_threads),
        ]

    def check_installed(self) -> None:
        """Refuse to start without xllamacpp or the model file (one-line errors)."""
        if importlib.util.find_spec("xllamacpp") is None:
            raise ConfigError(f"llm=local needs xllamacpp: {INSTALL_HINT}")
        if not self.model_path.is_file():
            raise ConfigError(f"local model file {self.model_path} does not exist")

    def start(self) -> str:
        """Start the server (if not running) and wait until it answers; returns its URL."""
        if self.process is not None and self.process.poll() is None:
            return self.base_url
        self.check_installed()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        stop_orphans(registry_dir())
        self.port = free_port()
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                supervised(self.command(self.port)),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        _record(registry_dir(), self.process)
        _install_exit_handlers()
        log.info("started llama.cpp server pid %s on %s", self.process.pid, self.base_url)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self.base_url

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise ServerStartError(
                    f"the local LLM server exited during startup; see {self.log_path}"
                )
            if self.healthy():
                return
            time.sleep(0.25)
        raise ServerStartError(
            f"the local LLM server did not answer within {self.startup_timeout:.0f} s; "
            f"see {self.log_path}"
        )

    def healthy(self) -> bool:
        """Whether ``GET /v1/models`` answers 200 with a JSON model list."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=2.0) as response:
                return response.status == 200 and "data" in json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the child started here (then kill it if it lingers); idempotent."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
        (registry_dir() / f"{process.pid}.json").unlink(missing_ok=True)
        log.info("stopped llama.cpp server pid %s", process.pid)

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def registry_dir() -> Path:
    """Where running servers are recorded (one ``<pid>.json`` each)."""
    return cache_dir() / "llm" / "servers"


def _record(directory: Path, process: subprocess.Popen) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    record = {"pid": process.pid, "parent": os.getpid(), "argv": list(map(str, process.args))}
    path = directory / f"{process.pid}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)


def _proc(pid: int) -> tuple[list[str], int] | None:
    """(command line, parent pid) of a live process, from ``/proc``; None if gone."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (name) "
    if fields[0] == "Z":  # exited, waiting for its parent to reap it
        return None
    return [a.decode(errors="replace") for a in argv], int(fields[1])


def stop_orphans(directory: Path, timeout: float = 15.0) -> int:
    """End every recorded server whose starting process is gone; returns how many.

    A record whose process is gone, or whose pid now runs another program, is dropped.
    Linux only (``/proc``); elsewhere the watchdog alone ends orphaned servers.
    """
    stopped = 0
    for path in sorted(directory.glob("*.json")):
        try:
            record = json.loads(path.read_text())
            pid, parent, argv = int(record["pid"]), int(record["parent"]), record["argv"]
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)
            continue
        seen = _proc(pid)
        if seen is None or seen[0] != argv:
            path.unlink(missing_ok=True)
            continue
        if seen[1] == parent:
            continue  # a live run's server: not ours to stop
        log.warning("stopping a local LLM server left by a killed run (pid %s)", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            os.kill(pid, signal.SIGCONT)  # a stopped (suspended) watchdog acts on it too
        deadline = time.monotonic() + timeout
        while _proc(pid) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if _proc(pid) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # its server has a parent-death signal
        path.unlink(missing_ok=True)
        stopped += 1
    return stopped


def shared_server(
    model_path: str | Path, *, alias: str, n_ctx: int, n_threads: int | None, startup_timeout: float
) -> LocalServer:
    """A started server for these settings, reused by every backend of the process.

    The benchmark builds a fresh predictor per task and seed; reusing the server
    saves a model load each time. All shared servers stop at exit.
    """
    key = (str(model_path), alias, int(n_ctx), n_threads)
    with _LOCK:
        server = _SERVERS.get(key)
        if server is None:
            server = LocalServer(
                model_path,
                alias=alias,
                n_ctx=n_ctx,
                n_threads=n_threads,
                startup_timeout=startup_timeout,
            )
            _SERVERS[key] = server
    server.start()
    return server


def stop_all() -> None:
    """Stop every shared server this process started."""
    with _LOCK:
        servers = list(_SERVERS.values())
        _SERVERS.clear()
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    stop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_exit_handlers() -> None:
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED:
        return
    _HANDLERS_INSTALLED = True
    atexit.register(stop_all)
    # Ctrl-C raises KeyboardInterrupt and ends in atexit; SIGTERM needs a handler.
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError):
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, _on_sigterm)
