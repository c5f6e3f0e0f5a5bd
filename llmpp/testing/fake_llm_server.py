"""A scripted OpenAI-compatible HTTP server for tests and benchmarks.

It serves ``/v1/completions``, ``/v1/chat/completions`` and ``/v1/models`` on
127.0.0.1 from a background thread, answers after a fixed delay, and can inject the
faults a paid API shows in practice: 429 with ``Retry-After``, 500, 401/403 (key),
404 (unknown model), 400/422 (a request the API rejects), a hang past the client's
timeout, a body that is not JSON, non-numeric or out-of-range answers and dropped
connections. It counts requests per prompt so tests can prove that a resumed or
repeated run makes no call twice. It never answers anything but loopback.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Fault names a script may use; anything else is sent as the reply text.
FAULTS = ("429", "500", "401", "403", "404", "400", "422", "hang", "malformed", "drop")


def default_answer(prompt: str) -> str:
    """A deterministic BLEU-like number derived from the prompt's hash."""
    digest = int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16)
    return f"{20 + (digest % 1000) / 100:.2f}"


class FakeLLMServer:
    """OpenAI-compatible server with scripted faults.

    Args:
        answer: prompt -> reply text when no scripted action is pending.
        delay: seconds before each answer (simulates model latency).
        hang_seconds: how long a ``hang`` fault stalls before dropping the request.
        retry_after: the ``Retry-After`` header of a ``429`` fault (seconds).
        port: the loopback port (0 = any free one).
    """

    def __init__(
        self,
        answer: Callable[[str], str] = default_answer,
        *,
        delay: float = 0.0,
        hang_seconds: float = 3.0,
        retry_after: float = 0.05,
        port: int = 0,
    ) -> None:
        self.answer = answer
        self.delay = delay
        self.hang_seconds = hang_seconds
        self.retry_after = retry_after
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()  # prompt -> requests received
        self.answered: Counter[str] = Counter()  # prompt -> 200 replies sent
        self.log: list[str] = []  # prompts in arrival order
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._scripts: dict[str, list[str]] = {}
        self._default_script: list[str] = []
        self._httpd = _QuietServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ---- scripting ----------------------------------------------------------------
    def script(self, actions: Iterable[str], prompt: str | None = None) -> None:
        """Queue actions (a fault name or a reply text) for one prompt, or for any prompt."""
        with self.lock:
            target = (
                self._default_script if prompt is None else self._scripts.setdefault(prompt, [])
            )
            target.extend(actions)

    def _next_action(self, prompt: str) -> str | None:
        with self.lock:
            self.counts[prompt] += 1
            self.log.append(prompt)
            queue = self._scripts.get(prompt) or self._default_script
            return queue.pop(0) if queue else None

    @property
    def total_requests(self) -> int:
        with self.lock:
            return sum(self.counts.values())

    # ---- lifecycle ----------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> FakeLLMServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- HTTP ---------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.headers.append(dict(self.headers))
                path = self.path.split("?")[0]  # Azure adds ?api-version=...
                chat = path.endswith("/chat/completions")
                if chat:
                    prompt = "\n".join(m.get("content", "") for m in body.get("messages", []))
                elif path.endswith("/completions"):
                    prompt = str(body.get("prompt", ""))
                else:
                    self._json(404, {"error": {"message": "not found"}})
                    return
                server._serve(self, prompt, chat)

            def _json(
                self, status: int, payload: Any, headers: dict[str, str] | None = None
            ) -> None:
                self._raw(status, json.dumps(payload).encode(), headers)

            def _raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _serve(self, handler: Any, prompt: str, chat: bool) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self._respond(handler, prompt, chat, self._next_action(prompt))
        finally:
            with self.lock:
                self.in_flight -= 1

    def _respond(self, handler: Any, prompt: str, chat: bool, action: str | None) -> None:
        if self.delay:
            time.sleep(self.delay)
        if action == "429":
            handler._json(
                429,
                {"error": {"message": "rate limited"}},
                {"retry-after": f"{self.retry_after:g}"},
            )
        elif action == "401":
            handler._json(401, {"error": {"message": "invalid api key"}})
        elif action == "403":
            handler._json(403, {"error": {"message": "this key may not use this model"}})
        elif action == "404":
            handler._json(404, {"error": {"message": "model not found"}})
        elif action in ("400", "422"):
            handler._json(int(action), {"error": {"message": "invalid request parameters"}})
        elif action == "500":
            handler._json(500, {"error": {"message": "internal error"}})
        elif action == "hang":
            time.sleep(self.hang_seconds)
            handler.close_connection = True
        elif action == "malformed":
            handler._raw(200, b'{"choices": [{"text": "2')
        elif action == "drop":
            handler.close_connection = True  # no response at all: the client sees a disconnect
        else:
            text = self.answer(prompt) if action is None else action
            with self.lock:
                self.answered[prompt] += 1
            handler._json(200, _reply(text, prompt, chat))


class _QuietServer(ThreadingHTTPServer):
    """A client that gives up mid-reply (a cancelled batch) is normal here, not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _reply(text: str, prompt: str, chat: bool) -> dict[str, Any]:
    usage = {"prompt_tokens": max(1, len(prompt) // 4), "completion_tokens": max(1, len(text) // 4)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    if chat:
        choice = {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": text},
        }
        return {
            "id": "fake",
            "object": "chat.completion",
            "created": 0,
            "model": "fake",
            "choices": [choice],
            "usage": usage,
        }
    choice = {"index": 0, "finish_reason": "stop", "text": text, "logprobs": None}
    return {
        "id": "fake",
        "object": "text_completion",
        "created": 0,
        "model": "fake",
        "choices": [choice],
        "usage": usage,
    }


def fast_backend(base_url: str, **overrides: Any) -> Any:
    """An OpenAI-compatible backend for ``base_url`` with test-sized timeouts and backoff.

    Completion mode, 2 s timeout, 3 retries a few milliseconds apart, 2 re-asks,
    4 requests in flight; ``overrides`` replace any of them.
    """
    from llmpp.llm.backends import OpenAICompatibleBackend

    settings: dict[str, Any] = dict(
        base_url=base_url,
        model="fake",
        mode="completion",
        timeout=2.0,
        max_retries=3,
        backoff_base=0.01,
        backoff_max=0.05,
        max_reasks=2,
        concurrency=4,
    )
    return OpenAICompatibleBackend(**{**settings, **overrides})


def main() -> None:
    """Serve in the foreground (own process, own GIL); prints the base URL first."""
    import argparse

    parser = argparse.ArgumentParser(description="scripted OpenAI-compatible test server")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = FakeLLMServer(delay=args.delay, port=args.port)
    print(server.base_url, flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()


if __name__ == "__main__":
    main()
