"""When and how long to wait before retrying an LLM request.

Transient problems (429 rate limits, 5xx, timeouts, dropped connections, a body
that is not valid JSON) are retried a bounded number of times with jittered
exponential backoff; a 429's ``Retry-After`` header sets the wait when present.
Anything else (400, 401, 404...) is the caller's mistake and is not retried.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

import openai


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with full-jitter exponential backoff.

    Args:
        max_retries: retries after the first attempt (0 = try once).
        base_delay: seconds of the first backoff step.
        max_delay: ceiling of one backoff wait.
        max_retry_after: ceiling of a server's ``Retry-After`` (honoured up to it, even
            above ``max_delay``: retrying earlier than asked only earns another 429).
    """

    max_retries: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_retry_after: float = 300.0

    def delay(
        self, retry: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        if retry_after is not None:
            # Honour the server, plus a little jitter so concurrent tasks do not stampede.
            return min(self.max_retry_after, retry_after) + (rng or random).uniform(
                0, 0.1 * self.base_delay
            )
        ceiling = min(self.max_delay, self.base_delay * (2**retry))
        return (rng or random).uniform(0.5 * ceiling, ceiling)


TRANSIENT_ERRORS = (
    openai.RateLimitError,
    openai.InternalServerError,
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.APIResponseValidationError,
)


def is_transient(exc: BaseException) -> bool:
    """Whether retrying ``exc`` can help."""
    if isinstance(exc, TRANSIENT_ERRORS):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 425) or exc.status_code >= 500
    # A 200 whose body is not JSON surfaces as a decoding error inside the SDK.
    return isinstance(exc, ValueError) and "JSON" in type(exc).__name__ + str(exc)


def retry_after_seconds(exc: BaseException) -> float | None:
    """The ``Retry-After`` (seconds or HTTP date) of a 429/503 response, if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    raw = headers.get("retry-after-ms")
    if raw:
        try:
            return max(0.0, float(raw) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        return max(0.0, parsed.timestamp() - time.time())
