"""Fit a latency model on measured architectures and score it on held-out ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmpp.errors import ConfigError
from llmpp.hardware.features import encode_features
from llmpp.hardware.measure import MeasureConfig
from llmpp.hardware.predictor import AUTO_MODELS, MODELS, new_model, score, select_model
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace


@dataclass
class FitResult:
    """The chosen fitted model and the evidence for it."""

    model: Any
    kind: str
    test: dict[str, float]  # the chosen model on held-out architectures
    candidates: dict[str, dict[str, float]]  # every candidate on held-out architectures
    cv: dict[str, dict[str, float]]  # cross-validation on the train split (how auto chose)
    test_predictions: np.ndarray
    test_index: np.ndarray  # positions of the held-out architectures


def split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train / held-out indices (at least 2 held out, at least 2 to train)."""
    if not 0 < test_fraction < 1:
        raise ConfigError(f"test_fraction={test_fraction} must be between 0 and 1")
    n_test = max(2, int(round(n * test_fraction)))
    if n - n_test < 2:
        raise ConfigError(f"{n} measured architectures are too few to fit and test a latency "
                          "predictor; raise n_archs")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def fit_latency_model(
    archs: Sequence[Architecture],
    latencies: np.ndarray,
    *,
    space: SearchSpace,
    vocab_size: int,
    measure: MeasureConfig,
    kind: str = "auto",
    options: Mapping[str, Mapping[str, Any]] | None = None,
    test_fraction: float = 0.25,
    cv_folds: int = 3,
    seed: int = 0,
) -> FitResult:
    """Fit ``kind`` (or choose among all with ``auto``) and score it on a held-out split."""
    options = {k: dict(v) for k, v in (options or {}).items()}
    y = np.asarray(latencies, dtype=np.float64)
    train, test = split(len(y), test_fraction, seed)
    candidates = sorted(AUTO_MODELS) if kind == "auto" else [kind]
    inputs = {
        k: encode_features(archs, MODELS[k].features, space=space, vocab_size=vocab_size,
                           measure=measure)
        for k in candidates
    }
    cv: dict[str, dict[str, float]] = {}
    chosen = kind
    if kind == "auto":
        selection = select_model(candidates, {k: x[train] for k, x in inputs.items()}, y[train],
                                 options, folds=cv_folds, seed=seed)
        chosen, cv = selection.kind, selection.cv
    fitted, held_out, preds = {}, {}, {}
    for k in candidates:
        fitted[k] = new_model(k, options.get(k)).fit(inputs[k][train], y[train], seed)
        preds[k] = fitted[k].predict(inputs[k][test])
        held_out[k] = score(preds[k], y[test])
    return FitResult(model=fitted[chosen], kind=chosen, test=held_out[chosen],
                     candidates=held_out, cv=cv, test_predictions=preds[chosen], test_index=test)
