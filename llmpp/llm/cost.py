"""Cost accounting of a run: calls, cache hits, failures, tokens and USD."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class CostMeter:
    """Counters one run accumulates; ``as_dict`` gives the benchmark's cost block.

    ``llm_calls`` counts replies paid for (a retried request counts once per reply
    received), ``requests`` every HTTP attempt, ``cache_hits`` replies served from the
    on-disk cache (free), ``failures`` samples that ended without a usable number.
    Prices are USD per million tokens; cached replies cost nothing.
    """

    prices: Mapping[str, float] = field(default_factory=dict)
    llm_calls: int = 0
    requests: int = 0
    retries: int = 0
    cache_hits: int = 0
    failures: int = 0
    reasks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0

    def paid(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.llm_calls += 1
        self.prompt_tokens += int(prompt_tokens)
        self.completion_tokens += int(completion_tokens)

    def hit(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.cache_hits += 1
        self.cached_prompt_tokens += int(prompt_tokens)
        self.cached_completion_tokens += int(completion_tokens)

    @property
    def usd(self) -> float:
        return (
            self.prompt_tokens * float(self.prices.get("input_per_mtok", 0.0))
            + self.completion_tokens * float(self.prices.get("output_per_mtok", 0.0))
        ) / 1e6

    def as_dict(self) -> dict[str, float]:
        return {
            "llm_calls": self.llm_calls,
            "cache_hits": self.cache_hits,
            "failures": self.failures,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "usd": self.usd,
            "requests": self.requests,
            "retries": self.retries,
            "reasks": self.reasks,
            "cached_prompt_tokens": self.cached_prompt_tokens,
            "cached_completion_tokens": self.cached_completion_tokens,
        }

    def summary(self) -> str:
        """Short text for a progress bar."""
        return f"calls={self.llm_calls} hits={self.cache_hits} fail={self.failures} ${self.usd:.4f}"
