"""Asking an LLM many prompts concurrently without losing or paying twice for a reply.

``LLMRunner.run`` sends a list of prompts (each ``n_samples`` times) through a
backend with a concurrency limit. Each request is first looked up in the on-disk
cache; otherwise it is sent with bounded, jittered retries on transient errors, and
the reply is committed to the cache before it is parsed. An unparseable reply is
re-asked up to ``max_reasks`` times, then recorded as a failure — nothing loops
forever. A rerun replays the cached asks of a failed sample and then asks again,
continuing the ask count (new keys), so a failure is retried without paying twice
for any reply. An endpoint that cannot be used at all (refused connection before
any answer, refused key, unknown model) ends the batch at once with an
``EndpointError``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import random
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from openai import AsyncOpenAI

from llmpp.errors import EndpointError
from llmpp.llm.backends import Backend
from llmpp.llm.cache import CachedReply, ReplyCache, request_key
from llmpp.llm.cost import CostMeter
from llmpp.llm.endpoint import endpoint_error
from llmpp.llm.retry import is_transient, retry_after_seconds

log = logging.getLogger(__name__)
T = TypeVar("T")
# The SDK's HTTP client logs every request at INFO; a labelling run makes thousands.
for _name in ("httpx", "httpx2"):
    logging.getLogger(_name).setLevel(logging.WARNING)


# Kept as the name callers and tests catch; every unusable-endpoint error is one.
LLMRequestError = EndpointError


@dataclass
class SampleResult:
    """The parsed answer of one sample of one prompt, or why there is none."""

    value: Any
    text: str | None
    failure: str | None = None


@dataclass
class PromptResult:
    """All samples of one prompt."""

    prompt: str
    samples: list[SampleResult] = field(default_factory=list)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion, also from code that already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class LLMRunner:
    """Cached, concurrent, retrying requests through one backend.

    Args:
        backend: where requests go and with which settings.
        cache: the reply cache (every reply is stored before use).
        meter: the cost counters to update.
    """

    def __init__(self, backend: Backend, cache: ReplyCache, meter: CostMeter | None = None) -> None:
        self.backend = backend
        self.cache = cache
        self.meter = meter or CostMeter(prices=backend.prices)
        self._rng = random.Random()
        self._reached = False  # the endpoint answered once: refused connections are transient
        self._fatal: EndpointError | None = None  # once set, no task sends another request

    # ---- one HTTP request ---------------------------------------------------------
    async def _send(self, client: AsyncOpenAI, prompt: str, params: dict[str, Any]) -> CachedReply:
        backend = self.backend
        if backend.mode == "completion":
            response = await client.completions.create(model=backend.model, prompt=prompt, **params)
            text = response.choices[0].text if response.choices else None
        else:
            response = await client.chat.completions.create(
                model=backend.model, messages=[{"role": "user", "content": prompt}], **params
            )
            text = response.choices[0].message.content if response.choices else None
        usage = getattr(response, "usage", None)
        return CachedReply(
            text=text,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        )

    async def _request(
        self, client: AsyncOpenAI, prompt: str, params: dict[str, Any]
    ) -> CachedReply:
        """One reply with retries; raises the last error when retries run out."""
        policy = self.backend.retry
        for retry in range(policy.max_retries + 1):
            self.meter.requests += 1
            try:
                reply = await self._send(client, prompt, params)
                self._reached = True
                return reply
            except Exception as exc:  # noqa: BLE001 - classified below
                fatal = endpoint_error(exc, self.backend, reached=self._reached)
                if fatal is not None:
                    self._fatal = self._fatal or fatal
                    raise fatal from None
                if not is_transient(exc) or retry == policy.max_retries:
                    raise
                wait = policy.delay(retry, retry_after_seconds(exc), self._rng)
                self.meter.retries += 1
                log.debug("transient %s; retry %d in %.2f s", type(exc).__name__, retry + 1, wait)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    # ---- one sample: cache, request, parse, re-ask -----------------------------------
    async def _reply(
        self,
        client_of: Callable[[], AsyncOpenAI],
        prompt: str,
        key: str,
        params: dict[str, Any],
        limit: asyncio.Semaphore,
    ) -> tuple[CachedReply, bool] | str:
        """(reply, paid now) for ``key``: cached, else fresh and stored first; str = why none."""
        reply = self.cache.get(key)
        if reply is not None:
            self.meter.hit(reply.prompt_tokens, reply.completion_tokens)
            return reply, False
        async with limit:
            if self._fatal is not None:  # another task found the endpoint unusable
                raise self._fatal
            try:
                reply = await self._request(client_of(), prompt, params)
            except EndpointError:
                raise
            except Exception as exc:  # noqa: BLE001 - becomes a recorded failure
                reason = f"request failed: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
                log.warning("%s (recorded as a failure)", reason)
                return reason
        # Persist before use: a crash after this line never pays for the reply again.
        await asyncio.to_thread(self.cache.put, key, prompt, reply)
        self.meter.paid(reply.prompt_tokens, reply.completion_tokens)
        return reply, True

    async def _sample(
        self,
        client_of: Callable[[], AsyncOpenAI],
        prompt: str,
        sample: int,
        parse: Callable[[str | None], Any],
        complete: Callable[[Any], bool],
        limit: asyncio.Semaphore,
        max_tokens: int | None,
    ) -> SampleResult:
        """Ask until the parsed reply is complete, paying for at most ``1 + max_reasks`` asks.

        Cached asks replay first (free, in order); a sample that failed in an earlier run
        then continues with the next ask number, so a rerun retries it with new requests.
        """
        identity = self.backend.identity()
        budget = self.backend.max_reasks + 1
        value: Any = None
        text: str | None = None
        ask = paid = 0
        while True:
            params = self.backend.sampling(ask)
            if max_tokens is not None:
                params["max_tokens"] = int(max_tokens)
            key = request_key({**identity, **params}, prompt, sample, ask)
            outcome = await self._reply(client_of, prompt, key, params, limit)
            if isinstance(outcome, str):
                self.meter.failures += 1
                return SampleResult(None, None, outcome)
            reply, fresh = outcome
            text = reply.text
            value = parse(text)
            if complete(value):
                return SampleResult(value, text)
            ask, paid = ask + 1, paid + int(fresh)
            if paid >= budget:
                break
            self.meter.reasks += 1
        self.meter.failures += 1
        return SampleResult(
            value, text, f"no usable number after {ask} asks; last reply {text!r:.80}"
        )

    async def arun(
        self,
        prompts: Sequence[str],
        *,
        n_samples: int = 1,
        parse: Callable[[str | None], Any],
        complete: Callable[[Any], bool] | None = None,
        max_tokens: int | None = None,
        progress: Any = None,
    ) -> list[PromptResult]:
        """Every sample of every prompt, concurrently (at most ``backend.concurrency``)."""
        complete = complete or (lambda value: value is not None)
        limit = asyncio.Semaphore(self.backend.concurrency)
        self._fatal = None
        client: AsyncOpenAI | None = None

        def client_of() -> AsyncOpenAI:
            # Built lazily: a fully cached run never starts a server or needs a key.
            nonlocal client
            if client is None:
                client = self.backend.make_client()
            return client

        async def one(index: int, sample: int) -> tuple[int, int, SampleResult]:
            result = await self._sample(
                client_of, prompts[index], sample, parse, complete, limit, max_tokens
            )
            if progress is not None:
                progress.update(1)
                progress.set_postfix_str(self.meter.summary(), refresh=False)
            return index, sample, result

        results = [PromptResult(p, [SampleResult(None, None)] * n_samples) for p in prompts]
        tasks = [
            asyncio.ensure_future(one(i, s)) for i in range(len(prompts)) for s in range(n_samples)
        ]
        try:
            for index, sample, result in await asyncio.gather(*tasks):
                results[index].samples[sample] = result
        finally:
            for task in tasks:
                task.cancel()
            if client is not None:
                await client.close()
        return results

    def run(self, prompts: Sequence[str], **kwargs: Any) -> list[PromptResult]:
        """Synchronous :meth:`arun`."""
        return run_sync(self.arun(prompts, **kwargs))
