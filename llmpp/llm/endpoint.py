"""Which request errors mean the endpoint cannot be used at all, said in one line.

Retrying helps a rate limit or a busy server, never a wrong URL, a dead server, a
refused key or an unknown model; those end the stage at once (exit 2) with the
endpoint, the reason and the fix, instead of minutes of retries and a table of
failures. A refused connection only counts as fatal before the endpoint ever
answered: once it has, a refused connection is a server restarting, which retries
ride out.
"""

from __future__ import annotations

import socket

import openai

from llmpp.errors import EndpointError
from llmpp.llm.backends import Backend

# The SDK's HTTP layer names these the same whichever transport it uses (httpx, httpcore).
_CONNECT_ERRORS = ("ConnectError", "ConnectTimeout")


def _connect_failure(exc: BaseException) -> str | None:
    """The reason a TCP/TLS connection could not be opened (refused, DNS), or None."""
    seen: BaseException | None = exc
    found: str | None = None
    for _ in range(10):  # a cause chain is short; never loop on a cycle
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError | socket.gaierror):
            return f"cannot connect: {' '.join(str(seen).split())}"
        if type(seen).__name__ in _CONNECT_ERRORS:
            found = found or f"cannot connect: {' '.join(str(seen).split()) or type(seen).__name__}"
        seen = seen.__cause__ or seen.__context__
    return found


def endpoint_error(exc: BaseException, backend: Backend, *, reached: bool) -> EndpointError | None:
    """The one-line error for ``exc`` when no retry can fix it, else None.

    Args:
        exc: what one request raised.
        backend: the backend it was sent through (names the endpoint and the key).
        reached: whether this endpoint already answered a request in this batch.
    """
    where = f"LLM endpoint {backend.endpoint_url()} (llm={backend.kind}, model {backend.model!r})"
    key_env = getattr(backend, "api_key_env", None)
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        fix = f"export a valid key in ${key_env}" if key_env else "check the API key"
        return EndpointError(f"{where} refused the request ({exc.status_code}); {fix}")
    if isinstance(exc, openai.NotFoundError):
        return EndpointError(
            f"{where}: model or path not found (404); check llm.model and that llm.base_url "
            "ends in /v1"
        )
    if reached or not isinstance(exc, openai.APIConnectionError):
        return None
    reason = _connect_failure(exc)
    if reason is None:  # a dropped or reset connection: transient
        return None
    return EndpointError(
        f"{where} is unreachable ({reason}); start the server or fix llm.base_url"
    )
