"""LLM backends: where requests go and with which settings.

Every backend talks through the ``openai`` SDK, so the offline default (a local
llama.cpp server) exercises the same code path as a paid cloud API. A backend knows
its model, mode (``chat`` or ``completion``), sampling and robustness settings and
how to build an SDK client; API keys are read from the environment only, at
construction, and never stored in anything that is serialised.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from openai import AsyncAzureOpenAI, AsyncOpenAI

from llmpp.errors import ConfigError
from llmpp.llm.retry import RetryPolicy

MODES = ("chat", "completion")


def key_from_env(variable: str, *, required: bool, what: str) -> str | None:
    """The API key in ``$variable``; a missing required key is a one-line ConfigError."""
    value = os.environ.get(variable, "").strip()
    if not value and required:
        raise ConfigError(
            f"{what} needs an API key: export {variable}=<your key> (keys are read from the "
            "environment only, never from configs)"
        )
    return value or None


class Backend:
    """Settings shared by every backend.

    Args:
        model: model (or deployment) name sent with each request.
        mode: ``chat`` (one user message) or ``completion`` (plain text prompt;
            suits base models and small instruct models).
        temperature: sampling temperature of the first ask of each sample.
        reask_temperature: temperature of re-asks after an unparseable reply (a
            deterministic model would repeat itself at the same temperature).
        max_tokens: reply length limit (a BLEU score needs few tokens).
        stop: stop sequences, or None.
        timeout: seconds per request (the SDK's default of 600 s is far too long).
        max_retries: retries of a transient failure (429, 5xx, timeout, dropped
            connection) done by llmpp itself; the SDK's own retries are off.
        backoff_base: seconds of the first backoff step; doubles per retry, jittered.
        backoff_max: ceiling of one wait (also caps a server's Retry-After).
        max_reasks: extra asks after an unparseable or out-of-range reply.
        concurrency: requests in flight at once.
        prices: USD per million tokens, ``input_per_mtok`` and ``output_per_mtok``.
    """

    kind = "base"

    def __init__(
        self,
        *,
        model: str,
        mode: str = "chat",
        temperature: float = 0.0,
        reask_temperature: float = 0.7,
        max_tokens: int = 16,
        stop: Sequence[str] | None = None,
        timeout: float = 60.0,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        max_reasks: int = 2,
        concurrency: int = 8,
        prices: Mapping[str, float] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(
                f"llm.mode={mode!r} is not supported; choose one of: {', '.join(MODES)}"
            )
        if not model:
            raise ConfigError(f"llm.model is empty; set llm.model=<model name> for llm={self.kind}")
        if (
            int(concurrency) < 1
            or float(timeout) <= 0
            or int(max_retries) < 0
            or int(max_reasks) < 0
        ):
            raise ConfigError(
                "llm.concurrency and llm.timeout must be positive, llm.max_retries and "
                "llm.max_reasks non-negative"
            )
        self.model = str(model)
        self.mode = mode
        self.temperature = float(temperature)
        self.reask_temperature = float(reask_temperature)
        self.max_tokens = int(max_tokens)
        self.stop = list(stop) if stop else None
        self.timeout = float(timeout)
        self.retry = RetryPolicy(int(max_retries), float(backoff_base), float(backoff_max))
        self.max_reasks = int(max_reasks)
        self.concurrency = int(concurrency)
        self.prices = dict(prices or {})

    # ---- what a subclass provides ------------------------------------------------
    def make_client(self) -> AsyncOpenAI:
        """A fresh SDK client (bound to the running event loop), retries off."""
        raise NotImplementedError

    def start(self) -> None:
        """Prepare the backend (e.g. start a local server); idempotent."""

    def close(self) -> None:
        """Release what ``start`` acquired; safe to call twice."""

    # ---- identity ------------------------------------------------------------------
    def sampling(self, ask: int) -> dict[str, Any]:
        """Request parameters of ask number ``ask`` (0 = first ask)."""
        params: dict[str, Any] = {
            "temperature": self.temperature if ask == 0 else self.reask_temperature,
            "max_tokens": self.max_tokens,
        }
        if self.stop:
            params["stop"] = list(self.stop)
        return params

    def identity(self) -> dict[str, Any]:
        """What makes replies of this backend reusable: the cache key's backend part."""
        return {"backend": self.kind, "model": self.model, "mode": self.mode}

    def endpoint_url(self) -> str:
        """Where requests go, for error messages (a subclass names its URL)."""
        return f"llm={self.kind}"

    def describe(self) -> dict[str, Any]:
        """Settings for logs and result files (never a key)."""
        return {
            **self.identity(),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "concurrency": self.concurrency,
        }


class OpenAIBackend(Backend):
    """OpenAI's API. The key comes from ``$OPENAI_API_KEY`` (or ``api_key_env``)."""

    kind = "openai"

    def __init__(
        self,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        base_url: str | None = None,
        organization: str | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        self.base_url = base_url
        self.organization = organization
        self.api_key_env = api_key_env
        # Fail fast: a missing key is reported before any work starts.
        key_from_env(api_key_env, required=True, what=f"llm={self.kind}")

    def endpoint_url(self) -> str:
        return self.base_url or "https://api.openai.com/v1"

    def make_client(self) -> AsyncOpenAI:
        return AsyncOpenAI(
            api_key=key_from_env(self.api_key_env, required=True, what=f"llm={self.kind}"),
            base_url=self.base_url,
            organization=self.organization,
            timeout=self.timeout,
            max_retries=0,
        )


class OpenAICompatibleBackend(Backend):
    """Any OpenAI-compatible server (vLLM, Ollama, llama.cpp, LM Studio...).

    Args:
        base_url: the server's ``/v1`` URL, e.g. ``http://localhost:8000/v1``.
        api_key_env: variable holding the key; many local servers need none, so a
            missing key is only an error with ``api_key_required: true``.
    """

    kind = "openai_compatible"

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key_env: str = "OPENAI_API_KEY",
        api_key_required: bool = False,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        if not base_url:
            raise ConfigError(
                "llm=openai_compatible needs the server's URL: llm.base_url=http://<host>:<port>/v1"
            )
        self.base_url = str(base_url)
        self.api_key_env = api_key_env
        self.api_key_required = bool(api_key_required)
        key_from_env(api_key_env, required=self.api_key_required, what=f"llm={self.kind}")

    def endpoint_url(self) -> str:
        return self.base_url

    def make_client(self) -> AsyncOpenAI:
        key = key_from_env(
            self.api_key_env, required=self.api_key_required, what=f"llm={self.kind}"
        )
        # The SDK insists on some key; servers that ignore keys accept any placeholder.
        return AsyncOpenAI(
            api_key=key or "not-needed", base_url=self.base_url, timeout=self.timeout, max_retries=0
        )


class AzureBackend(Backend):
    """An Azure OpenAI deployment; ``model`` is the deployment name.

    Args:
        endpoint: ``https://<resource>.openai.azure.com`` (or ``$AZURE_OPENAI_ENDPOINT``).
        api_version: the Azure API version.
        api_key_env: variable holding the key (``AZURE_OPENAI_API_KEY``).
    """

    kind = "azure"

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        api_version: str = "2024-10-21",
        api_key_env: str = "AZURE_OPENAI_API_KEY",
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        self.endpoint = endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT")
        if not self.endpoint:
            raise ConfigError(
                "llm=azure needs the resource endpoint: "
                "llm.endpoint=https://<resource>.openai.azure.com or export AZURE_OPENAI_ENDPOINT"
            )
        self.api_version = api_version
        self.api_key_env = api_key_env
        key_from_env(api_key_env, required=True, what="llm=azure")

    def endpoint_url(self) -> str:
        return str(self.endpoint)

    def make_client(self) -> AsyncOpenAI:
        return AsyncAzureOpenAI(
            azure_endpoint=self.endpoint,
            azure_deployment=self.model,
            api_version=self.api_version,
            api_key=key_from_env(self.api_key_env, required=True, what="llm=azure"),
            timeout=self.timeout,
            max_retries=0,
        )
