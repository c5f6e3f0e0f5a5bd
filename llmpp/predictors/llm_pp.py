"""LLM-PP: an LLM reads demonstrations and predicts the BLEU of new architectures.

``fit`` builds the shared prompt prefix from the demonstrations; ``predict`` asks
the backend one query per architecture (the paper's protocol) or several
architectures per query (``protocol: multi``, cheaper). With ``n_samples > 1`` a
prediction is the mean over samples and ``label`` also reports their standard
deviation. Replies come from the on-disk cache when the same request was answered
before, so reruns are free and a killed run resumes without paying twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmpp.errors import ConfigError, PredictionsFailedError
from llmpp.llm.backends import Backend
from llmpp.llm.cache import ReplyCache
from llmpp.llm.client import LLMRunner, PromptResult
from llmpp.llm.cost import CostMeter
from llmpp.llm.parse import parse_scores
from llmpp.predictors.base import Demonstration, Predictor, as_scores
from llmpp.prompts.builder import DemoItem
from llmpp.space.architecture import Architecture
from llmpp.utils.progress import progress_bar

PROTOCOLS = ("single", "multi")


@dataclass
class Label:
    """LLM-PP's answer for one architecture: mean, spread and raw samples."""

    arch: Architecture
    prediction: float | None
    std: float | None
    samples: list[float] = field(default_factory=list)
    failure: str | None = None


class LLMPPPredictor(Predictor):
    """The paper's LLM performance predictor over any backend.

    Args:
        llm: the backend (``conf/llm/``).
        prompt: the prompt builder (``conf/prompt/``).
        n_samples: answers per architecture (mean and std over them).
        protocol: ``single`` (one architecture per query, the paper's) or ``multi``.
        archs_per_query: architectures per query with ``protocol: multi``.
        cache: the reply cache file; None = ``<user cache>/llm/replies.sqlite``.
        progress: show a progress bar with calls, cache hits and cost.
    """

    def __init__(
        self,
        *,
        llm: Backend,
        prompt: Any,
        n_samples: int = 1,
        protocol: str = "single",
        archs_per_query: int = 5,
        cache: str | None = None,
        progress: bool = True,
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ConfigError(
                f"predictor.protocol={protocol!r}; choose one of: {', '.join(PROTOCOLS)}"
            )
        if int(n_samples) < 1 or int(archs_per_query) < 1:
            raise ConfigError("predictor.n_samples and predictor.archs_per_query must be >= 1")
        self.backend = llm
        self.prompt = prompt
        self.n_samples = int(n_samples)
        self.protocol = protocol
        self.archs_per_query = int(archs_per_query)
        self.cache_path = cache
        self.progress = progress
        self.meter = CostMeter(prices=llm.prices)
        self._cache: ReplyCache | None = None
        self._prefix: str | None = None

    @property
    def name(self) -> str:
        return f"llm_pp[{self.backend.kind}:{self.backend.model}|{self.prompt.name}]"

    # ---- contract -----------------------------------------------------------------
    def fit(self, demonstrations: Sequence[Demonstration]) -> LLMPPPredictor:
        context = self._require_context()
        demos = [DemoItem(d.arch, self._gflops(d.arch), float(d.score)) for d in demonstrations]
        # The protocol seed also draws the prompt's task examples (prompt=authors).
        self._prefix = self.prompt.prefix(context.task, demos, seed=context.seed)
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        labels = self.label(archs)
        return as_scores([math.nan if lb.prediction is None else lb.prediction for lb in labels])

    def cost(self) -> dict[str, float]:
        return self.meter.as_dict()

    def close(self) -> None:
        self.backend.close()
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    # ---- prompts and labels ---------------------------------------------------------
    @property
    def prefix(self) -> str:
        if self._prefix is None:
            raise RuntimeError(f"{self.name}.fit(demonstrations) must be called before predict")
        return self._prefix

    def prompts(self, archs: Sequence[Architecture]) -> list[str]:
        """The full prompts ``label`` sends (shared prefix + query)."""
        items = [DemoItem(arch, self._gflops(arch)) for arch in archs]
        if self.protocol == "single":
            return [self.prefix + self.prompt.query(item) for item in items]
        groups = [
            items[i : i + self.archs_per_query] for i in range(0, len(items), self.archs_per_query)
        ]
        return [self.prefix + self.prompt.multi_query(group) for group in groups]

    def label(self, archs: Sequence[Architecture], progress: Any = None) -> list[Label]:
        """Mean, std, samples and failure of every architecture, in order.

        Raises:
            EndpointError: the LLM cannot be used at all (unreachable, key, model).
            PredictionsFailedError: not one architecture got a prediction.
        """
        archs = list(archs)
        if not archs:
            return []
        prompts = self.prompts(archs)
        runner = LLMRunner(self.backend, self._reply_cache(), self.meter)
        bar = progress if progress is not None else self._bar(len(prompts) * self.n_samples)
        try:
            if self.protocol == "single":
                results = runner.run(
                    prompts, n_samples=self.n_samples, parse=self.prompt.parse_reply,
                    progress=bar,
                )
                labels = [
                    _aggregate(arch, r, lambda v: v) for arch, r in zip(archs, results, strict=True)
                ]
            else:
                labels = self._label_multi(runner, archs, prompts, bar)
            self._check_any_answer(labels)
            return labels
        finally:
            if progress is None and bar is not None:
                bar.close()

    def _label_multi(
        self, runner: LLMRunner, archs: list[Architecture], prompts: list[str], bar: Any
    ) -> list[Label]:
        size = self.archs_per_query
        labels: list[Label] = []

        def parse_group(count: int) -> Any:
            # The query ends in "1: ", so the reply starts with the first score.
            return lambda reply: parse_scores(f"1: {reply or ''}", count)

        for g, prompt in enumerate(prompts):
            group = archs[g * size : (g + 1) * size]
            [result] = runner.run(
                [prompt],
                n_samples=self.n_samples,
                parse=parse_group(len(group)),
                complete=lambda values: all(v is not None for v in values),
                max_tokens=self.backend.max_tokens * len(group),
                progress=bar,
            )
            for i, arch in enumerate(group):
                labels.append(_aggregate(arch, result, lambda v, i=i: None if v is None else v[i]))
        return labels

    # ---- helpers ----------------------------------------------------------------------
    def _gflops(self, arch: Architecture) -> float:
        return self._require_context().efficiency(arch).gflops

    def _reply_cache(self) -> ReplyCache:
        if self._cache is None:
            self._cache = ReplyCache(self.cache_path)
        return self._cache

    def _bar(self, total: int) -> Any:
        if not self.progress:
            return None
        task = self.context.task.name if self.context else ""
        return progress_bar(total, f"LLM-PP {task}", "req", leave=False)

    def _check_any_answer(self, labels: list[Label]) -> None:
        """Every label failed: nothing to report or save, so stop the stage (exit 2)."""
        if labels and all(label.prediction is None for label in labels):
            raise PredictionsFailedError(
                f"all {len(labels)} predictions of {self.name} failed (first: "
                f"{labels[0].failure}); check the LLM at {self.backend.endpoint_url()} and "
                "rerun: answered prompts replay from the cache, failed ones are asked again"
            )


def _aggregate(arch: Architecture, result: PromptResult, pick: Any) -> Label:
    values, failures = [], []
    for sample in result.samples:
        value = pick(sample.value)
        if value is None:
            failures.append(sample.failure or "no usable number in the reply")
        else:
            values.append(float(value))
    if not values:
        return Label(arch, None, None, [], failures[0] if failures else "no reply")
    return Label(
        arch,
        float(np.mean(values)),
        float(np.std(values)),
        values,
        failures[0] if failures else None,
    )
