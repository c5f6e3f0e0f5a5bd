"""Serve one GGUF model over llama.cpp's OpenAI-compatible HTTP server, until signalled.

``python -m llmpp.llm.gguf_server --model M.gguf --alias NAME --port P ...`` is the child
process that :class:`llmpp.llm.local_server.LocalServer` starts. The server is
llama.cpp's own C++ server embedded by ``xllamacpp``, which ships prebuilt CPU wheels:
the install no longer compiles llama.cpp (about five of the demo install's minutes on
two cores). It listens on loopback only and answers ``/v1/models``,
``/v1/completions`` and ``/v1/chat/completions``, one request at a time, reusing the
KV cache of the longest prompt prefix it has seen (the prompts share their
demonstrations). SIGTERM or SIGINT ends it at once: it holds no state worth flushing.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

INSTALL_HINT = "pip install 'xllamacpp==2026.10.11549'"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the GGUF file")
    parser.add_argument("--alias", required=True, help="the model name clients send")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--n-ctx", type=int, default=4096, help="context length in tokens")
    parser.add_argument("--n-threads", type=int, default=os.cpu_count() or 1)
    # llama.cpp's own default (auto: on where the backend supports it). Measured on the
    # label workload (a ~3.3k-token cached prefix plus a ~250-token query, SmolLM2 on two
    # CPU cores), off made each request slower (docs/BENCHMARKS.md, "Install").
    parser.add_argument("--flash-attn", choices=("off", "on", "auto"), default="auto")
    return parser.parse_args(argv)


def server_params(args: argparse.Namespace) -> object:
    """xllamacpp's ``CommonParams`` for these arguments."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.alias}
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.n_ctx
    params.n_parallel = 1  # one slot: the whole context for one request, prefix reused
    # The API only: no web UI, and no cross-origin requests from pages in a browser on
    # this machine (llama.cpp allows every origin by default).
    params.ui = False
    params.cors_origins = f"http://{args.host}:{args.port}"
    params.cpuparams.n_threads = args.n_threads
    params.cpuparams_batch.n_threads = args.n_threads
    params.flash_attn_type = xllamacpp.llama_flash_attn_type(
        {"auto": -1, "off": 0, "on": 1}[args.flash_attn]
    )
    return params


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        import xllamacpp
    except ImportError:
        sys.exit(f"llm=local needs xllamacpp: {INSTALL_HINT}")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = xllamacpp.Server(server_params(args))  # loads the model, then listens
    print(f"serving {args.alias} on {server.listening_address}", flush=True)
    while not stop.wait(0.5):  # a timed wait: signal handlers run between waits
        pass
    # Leave without running the native server's teardown: there is nothing to save,
    # and the caller waits for this process to end.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
