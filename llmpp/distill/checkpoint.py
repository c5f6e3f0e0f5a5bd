"""The self-describing Distill-PP checkpoint and the fast model that serves it.

A checkpoint holds the regressor's weights together with everything needed to use
it correctly: the feature kind, the target normalisation, the search space (name,
hash and full choice lists), the task, the training config and where the labels came
from. Loading it for a space with another hash is refused.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from llmpp.distill.features import FeatureEncoder
from llmpp.errors import ConfigError, CorruptFileError, DataNotFoundError
from llmpp.models.mlp import build_mlp
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace
from llmpp.utils.io import write_torch

FORMAT = "llmpp-distill/1"
REQUIRED = ("format", "state_dict", "model", "normalisation", "feature_kind", "space")
# Rows per forward pass: small enough to stay in cache, large enough to keep the
# matrix multiplies efficient (measured fastest on one CPU core).
CHUNK = 256


def save_checkpoint(path: str | Path, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` (see ``checkpoint_payload``) atomically with ``torch.save``."""
    write_torch(path, dict(payload))


def checkpoint_payload(
    net_state: Mapping[str, torch.Tensor],
    *,
    model: Mapping[str, int],
    target_mean: float,
    target_std: float,
    feature_kind: str,
    space: SearchSpace,
    **extra: Any,
) -> dict[str, Any]:
    """Everything a checkpoint stores; ``extra`` adds task, config, labels, metrics."""
    return {
        "format": FORMAT,
        "state_dict": {k: v.detach().cpu().clone() for k, v in net_state.items()},
        "model": dict(model),
        "normalisation": {
            "target_mean": float(target_mean),
            "target_std": float(target_std),
            "features": "SearchSpace normalisation (each value / its largest choice)",
        },
        "feature_kind": feature_kind,
        "space": {"name": space.name, "hash": space.hash(), "spec": space.spec()},
        "versions": {"torch": str(torch.__version__)},
        **extra,
    }


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataNotFoundError(
            f"Distill-PP checkpoint {path} does not exist; train one with "
            "`llmpp distill labels=<labels.jsonl>` and pass predictor.checkpoint=<its distill.ckpt>"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (
        RuntimeError,
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        zipfile.BadZipFile,
        OSError,
    ) as exc:
        reason = " ".join(str(exc).split())[:120]
        raise CorruptFileError(
            f"{path} is not a readable Distill-PP checkpoint ({reason}); "
            "retrain it with `llmpp distill`"
        ) from None
    if not isinstance(payload, dict) or any(key not in payload for key in REQUIRED):
        raise CorruptFileError(
            f"{path} is not a Distill-PP checkpoint; retrain it with `llmpp distill`"
        )
    if payload["format"] != FORMAT:
        raise CorruptFileError(
            f"{path} has checkpoint format {payload['format']!r}, this llmpp reads {FORMAT!r}; "
            "retrain it with `llmpp distill`"
        )
    return payload


class DistilledModel:
    """A loaded Distill-PP regressor: batched, single-threaded-friendly inference.

    Args:
        payload: a checkpoint dict (``checkpoint_payload``).
        space: the space to serve; ``None`` rebuilds the one stored in the checkpoint.
        source: where the payload came from, for error messages.
    """

    def __init__(
        self, payload: Mapping[str, Any], space: SearchSpace | None = None, source: str = ""
    ) -> None:
        stored = payload["space"]
        if space is None:
            space = SearchSpace(name=stored["name"], **stored["spec"])
        if space.hash() != stored["hash"]:
            raise ConfigError(
                f"Distill-PP checkpoint {source} was trained on space {stored['name']} "
                f"(hash {stored['hash']}) but space {space.name} has hash {space.hash()}; "
                f"pass space={stored['name']} or retrain with `llmpp distill space={space.name}`"
            )
        self.space = space
        self.payload = dict(payload)
        self.encoder = FeatureEncoder(space, payload["feature_kind"])
        model = payload["model"]
        self.net = build_mlp(
            int(model["in_dim"]), int(model["hidden_dim"]), int(model["hidden_layers"])
        )
        try:
            self.net.load_state_dict(payload["state_dict"])
        except (RuntimeError, KeyError) as exc:
            raise CorruptFileError(
                f"{source}: weights do not match the stored model shape ({str(exc)[:80]}); "
                "retrain with `llmpp distill`"
            ) from None
        self.net.eval()
        self.mean = float(payload["normalisation"]["target_mean"])
        self.std = float(payload["normalisation"]["target_std"])

    @classmethod
    def load(cls, path: str | Path, space: SearchSpace | None = None) -> DistilledModel:
        """Read a checkpoint file; CorruptFileError / ConfigError say what to do."""
        path = Path(path)
        return cls(_read(path), space, source=str(path))

    @property
    def task(self) -> str | None:
        return self.payload.get("task")

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        """Scores (teacher units, float64) for a feature matrix from ``self.encoder``."""
        x = torch.as_tensor(np.ascontiguousarray(features, dtype=np.float32))
        out = np.empty(len(x), dtype=np.float64)
        with torch.inference_mode():
            for start in range(0, len(x), CHUNK):
                chunk = self.net(x[start : start + CHUNK]).squeeze(-1)
                out[start : start + CHUNK] = chunk.numpy()
        # De-standardise in float64 so batch size cannot move the last digits.
        return out * self.std + self.mean

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        """One score per architecture, in the teacher's units."""
        return self.predict_features(self.encoder.encode(archs))
