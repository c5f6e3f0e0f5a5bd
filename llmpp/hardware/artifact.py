"""The self-describing latency predictor artifact, and the predictor it loads into.

One file holds the fitted regressor together with everything needed to use it
correctly: its feature kind and normalisation, the search space (name, hash, full
choice lists), the task (name, vocabulary: the output projection's cost), the
hardware it was measured on, the measurement protocol, the training config and its
held-out scores. Loading it for another space or task is refused with one line.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from llmpp.errors import ConfigError, CorruptFileError, DataNotFoundError
from llmpp.hardware.features import ANALYTIC_NAMES, encode_features
from llmpp.hardware.hat_released import HATReleasedModel
from llmpp.hardware.measure import MeasureConfig
from llmpp.hardware.predictor import MODELS, LinearLatencyModel
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace
from llmpp.task import TaskSpec
from llmpp.utils.io import write_torch

FORMAT = "llmpp-latency/1"
REQUIRED = ("format", "model", "space", "task", "hardware", "measurement")
NORMALISATION = {
    "analytic": "standardised analytic features (mean/std in model.state)",
    "hat_raw": "HAT's 10 raw features; the model scales them (its norms in model.state)",
}
FIX = "refit it with `llmpp latency hardware=<hw> space=<space> task=<task>`"


def artifact_payload(
    model: Any,
    *,
    space: SearchSpace,
    task: TaskSpec,
    hardware: Mapping[str, Any],
    measurement: MeasureConfig,
    **extra: Any,
) -> dict[str, Any]:
    """Everything an artifact stores; ``extra`` adds training config, metrics, etc."""
    return {
        "format": FORMAT,
        "model": {"kind": model.kind, "features": model.features, "state": model.state()},
        "feature_names": list(ANALYTIC_NAMES) if model.features == "analytic" else None,
        "normalisation": NORMALISATION.get(
            model.features,
            "SearchSpace normalisation (each value / its largest choice); target standardised",
        ),
        "space": {"name": space.name, "hash": space.hash(), "spec": space.spec()},
        "task": {"name": task.name, "vocab_size": task.vocab_size},
        "hardware": dict(hardware),
        "measurement": measurement.as_dict(),
        "versions": {"torch": str(torch.__version__)},
        **extra,
    }


def save_artifact(path: str | Path, payload: Mapping[str, Any]) -> None:
    """Write an artifact atomically (``torch.save``; loadable with ``weights_only``)."""
    write_torch(path, dict(payload))


def read_artifact(path: str | Path) -> dict[str, Any]:
    """The payload of an artifact file; DataNotFoundError / CorruptFileError say what to do."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"latency predictor {path} does not exist; {FIX}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError, zipfile.BadZipFile,
            OSError) as exc:
        reason = " ".join(str(exc).split())[:100]
        raise CorruptFileError(
            f"{path} is not a readable latency predictor ({reason}); {FIX}"
        ) from None
    if not isinstance(payload, dict) or any(key not in payload for key in REQUIRED):
        raise CorruptFileError(f"{path} is not a latency predictor artifact; {FIX}")
    if payload["format"] != FORMAT:
        raise CorruptFileError(
            f"{path} has format {payload['format']!r}, this llmpp reads {FORMAT!r}; {FIX}"
        )
    return payload


def _check_space(payload: Mapping[str, Any], space: SearchSpace, source: str) -> None:
    stored = payload["space"]
    if space.hash() != stored["hash"]:
        raise ConfigError(
            f"latency predictor {source} was fitted on space {stored['name']} (hash "
            f"{stored['hash']}) but space {space.name} has hash {space.hash()}; pass "
            f"space={stored['name']} or refit with `llmpp latency space={space.name}`"
        )


def _check_task(payload: Mapping[str, Any], task: TaskSpec, source: str) -> None:
    stored = payload["task"]
    if stored["name"] != task.name or int(stored["vocab_size"]) != task.vocab_size:
        raise ConfigError(
            f"latency predictor {source} was fitted for task {stored['name']} (vocabulary "
            f"{stored['vocab_size']}), not {task.name} (vocabulary {task.vocab_size}); pass "
            f"task={stored['name']} or refit with `llmpp latency task={task.name}`"
        )


class LatencyPredictor:
    """Predicted latency (ms) of architectures on the artifact's hardware.

    Args:
        payload: an artifact dict (``artifact_payload``).
        space: the space to serve; None rebuilds the stored one.
        task: the task to serve; None trusts the stored one.
        source: where the payload came from, for error messages.
    """

    def __init__(self, payload: Mapping[str, Any], space: SearchSpace | None = None,
                 task: TaskSpec | None = None, source: str = "") -> None:
        stored = payload["space"]
        if space is None:
            space = SearchSpace(name=stored["name"], **stored["spec"])
        _check_space(payload, space, source)
        if task is not None:
            _check_task(payload, task, source)
        self.payload, self.space = dict(payload), space
        self.vocab_size = int(payload["task"]["vocab_size"])
        self.measurement = MeasureConfig(**payload["measurement"])
        model = payload["model"]
        self.features = str(model["features"])
        try:
            if model["kind"] == "linear":
                self.model: Any = LinearLatencyModel.from_state(model["state"])
            elif model["kind"] == "released":
                self.model = HATReleasedModel.from_state(model["state"])
            elif model["kind"] in MODELS:
                dim = self.encode([space.smallest()]).shape[1]
                self.model = MODELS[model["kind"]].from_state(model["state"], dim)
            else:
                raise KeyError(model["kind"])
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise CorruptFileError(
                f"{source}: the stored latency model is unreadable ({str(exc)[:80]}); {FIX}"
            ) from None

    @classmethod
    def load(cls, path: str | Path, space: SearchSpace | None = None,
             task: TaskSpec | None = None) -> LatencyPredictor:
        """Read an artifact; refuses another space or task with a ConfigError."""
        return cls(read_artifact(path), space, task, source=str(path))

    @property
    def hardware(self) -> dict[str, Any]:
        return dict(self.payload["hardware"])

    def encode(self, archs: Sequence[Architecture]) -> np.ndarray:
        return encode_features(archs, self.features, space=self.space,
                               vocab_size=self.vocab_size, measure=self.measurement)

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Predicted milliseconds per architecture (float64)."""
        archs = list(archs)
        if not archs:
            return np.zeros(0)
        return np.asarray(self.model.predict(self.encode(archs)), dtype=np.float64)

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly summary: model, hardware, held-out scores."""
        return {
            "model": self.payload["model"]["kind"],
            "features": self.features,
            "hardware": self.hardware,
            "measurement": self.payload["measurement"],
            "test": self.payload.get("metrics", {}).get("test"),
        }
