"""Constraints on architectures, for searches and for users.

A constraint measures one quantity of an architecture (GFLOPs, parameters, latency)
and compares it with a limit. ``violation`` is 0 when the limit is met and the
relative excess ``(value - limit) / limit`` otherwise, so violations of different
quantities are comparable and a search can rank infeasible candidates by how far
they are from feasible. ``AllOf`` combines constraints. Every constraint also has
batched ``values`` / ``violations`` for scoring a whole population at once.

Efficiency constraints need the task's vocabulary and the space's ``qkv_dim``; their
configs (``conf/constraint/``) are partial, and the caller binds them:
``bind(build(cfg.constraint, "constraint"), vocab_size=..., qkv_dim=..., latency=...)``.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from llmpp.errors import ConfigError
from llmpp.metrics.efficiency import efficiency
from llmpp.space.architecture import Architecture


class Constraint(ABC):
    """``value(arch) <= limit``; see the module docstring."""

    unit: str = ""

    def __init__(self, *, limit: float) -> None:
        try:
            limit = float(limit)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{type(self).__name__}: limit={limit!r} is not a number; "
                "pass constraint.limit=<number>"
            ) from None
        if not limit > 0:
            raise ConfigError(f"{type(self).__name__}: limit={limit} must be positive")
        self.limit = limit

    @property
    def name(self) -> str:
        return type(self).__name__

    @abstractmethod
    def value(self, arch: Architecture) -> float:
        """The constrained quantity of ``arch`` (in ``unit``)."""

    def values(self, archs: Sequence[Architecture]) -> np.ndarray:
        """``value`` of many architectures (override when a batched path is faster)."""
        return np.asarray([self.value(a) for a in archs], dtype=np.float64)

    def violation(self, arch: Architecture) -> float:
        return float(self.violations([arch])[0])

    def violations(self, archs: Sequence[Architecture]) -> np.ndarray:
        return np.maximum(0.0, (self.values(archs) - self.limit) / self.limit)

    def is_satisfied(self, arch: Architecture) -> bool:
        return self.violation(arch) == 0.0

    def describe(self) -> dict[str, Any]:
        """JSON-friendly summary (search.json's ``constraint``)."""
        return {"type": self.name, "limit": self.limit, "unit": self.unit}

    def __repr__(self) -> str:
        return f"{self.name}(limit={self.limit} {self.unit})"


class NoConstraint(Constraint):
    """Every architecture is allowed (what a search uses when none is configured)."""

    def __init__(self) -> None:
        self.limit = float("inf")

    def value(self, arch: Architecture) -> float:
        return 0.0

    def violations(self, archs: Sequence[Architecture]) -> np.ndarray:
        return np.zeros(len(archs))

    def is_satisfied(self, arch: Architecture) -> bool:
        return True

    def describe(self) -> dict[str, Any]:
        return {"kind": "none", "type": self.name}

    def __repr__(self) -> str:
        return "NoConstraint()"


class _EfficiencyConstraint(Constraint):
    """A constraint on a closed-form efficiency metric (needs vocab and qkv_dim)."""

    def __init__(self, *, limit: float, vocab_size: int, qkv_dim: int = 512) -> None:
        super().__init__(limit=limit)
        self.vocab_size, self.qkv_dim = int(vocab_size), int(qkv_dim)

    def _efficiency(self, arch: Architecture):
        return efficiency(arch, self.vocab_size, self.qkv_dim)


class MaxGFLOPs(_EfficiencyConstraint):
    """Total GFLOPs on the paper's reference input (30 source, 30 target tokens)."""

    unit = "GFLOPs"

    def value(self, arch: Architecture) -> float:
        return self._efficiency(arch).total_flops / 1e9


class MaxParams(_EfficiencyConstraint):
    """Parameters in millions, without embeddings (``total: true`` adds them)."""

    unit = "M params"

    def __init__(self, *, limit: float, vocab_size: int, qkv_dim: int = 512, total: bool = False):
        super().__init__(limit=limit, vocab_size=vocab_size, qkv_dim=qkv_dim)
        self.total = bool(total)

    def value(self, arch: Architecture) -> float:
        e = self._efficiency(arch)
        count = e.num_parameters_without_embedding_weights
        return (count + e.num_embedding_parameters if self.total else count) / 1e6


class MaxLatency(Constraint):
    """Latency in milliseconds from any latency predictor (predicted, or measured).

    Args:
        limit: milliseconds.
        latency: an object with ``predict(archs) -> array`` (a latency predictor),
            or a callable ``arch -> ms`` (e.g. a measurement for final candidates).
        source: ``predicted`` or ``measured``, recorded in ``describe``.
    """

    unit = "ms"

    def __init__(self, *, limit: float, latency: Any, source: str = "predicted") -> None:
        super().__init__(limit=limit)
        if not (hasattr(latency, "predict") or callable(latency)):
            raise ConfigError(
                "MaxLatency needs a latency predictor (predict) or a callable arch -> ms"
            )
        self.latency = latency
        self.source = source

    def values(self, archs: Sequence[Architecture]) -> np.ndarray:
        if not archs:
            return np.zeros(0)
        if hasattr(self.latency, "predict"):
            return np.asarray(self.latency.predict(list(archs)), dtype=np.float64).reshape(-1)
        fn: Callable[[Architecture], float] = self.latency
        return np.asarray([fn(a) for a in archs], dtype=np.float64)

    def value(self, arch: Architecture) -> float:
        return float(self.values([arch])[0])

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "source": self.source}


class AllOf(Constraint):
    """Every member must hold; the violation is the sum of the members' violations."""

    def __init__(self, *, constraints: Sequence[Constraint]) -> None:
        if not constraints:
            raise ConfigError("AllOf needs at least one constraint")
        self.constraints = list(constraints)
        self.limit = 0.0

    def value(self, arch: Architecture) -> float:
        return self.violation(arch)

    def violations(self, archs: Sequence[Architecture]) -> np.ndarray:
        total = np.zeros(len(archs))
        for constraint in self.constraints:
            total += constraint.violations(archs)
        return total

    def describe(self) -> dict[str, Any]:
        return {"type": self.name, "all_of": [c.describe() for c in self.constraints]}

    def __repr__(self) -> str:
        return f"AllOf({', '.join(map(repr, self.constraints))})"


def bind(
    factory: Callable[..., Constraint],
    *,
    vocab_size: int,
    qkv_dim: int,
    latency: Any = None,
) -> Constraint:
    """Build a partial constraint config with the runtime objects its class needs.

    Args:
        factory: what ``build(cfg.constraint, ...)`` returns for a ``_partial_`` config.
        vocab_size: the task's vocabulary (efficiency constraints).
        qkv_dim: the space's attention width (efficiency constraints).
        latency: the hardware target's latency predictor (latency constraints).
    """
    if isinstance(factory, Constraint):
        return factory
    cls = factory.func if isinstance(factory, functools.partial) else factory
    if isinstance(cls, type) and issubclass(cls, MaxLatency):
        if latency is None:
            raise ConfigError(
                "constraint=latency needs a latency predictor; pass hardware=<target> with a "
                "fitted latency artifact (llmpp latency writes one)"
            )
        return factory(latency=latency)
    if isinstance(cls, type) and issubclass(cls, _EfficiencyConstraint):
        return factory(vocab_size=vocab_size, qkv_dim=qkv_dim)
    return factory()
