"""Hardware targets measured by HAT (``hardware=titanxp|xeon|raspberrypi``).

Nothing is timed on this machine: the latency predictor comes from HAT's released
measurements of the task (``<task>_<device>_all.csv``). ``model: released`` serves
HAT's own trained predictor (the paper's HS-NAS constrains with the TITAN Xp one);
any llmpp latency model kind (``auto``, ``linear``, ``gbdt``, ...) is fitted instead on
HAT's training split and scored on its test split. The predictor is built for the
run's space, which must lie inside the space HAT sampled the dataset from.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from llmpp.errors import ConfigError, CorruptFileError
from llmpp.gold.source import ReleaseSource
from llmpp.hardware.artifact import LatencyPredictor, artifact_payload
from llmpp.hardware.hat_release import (
    HAT,
    HATData,
    dataset_names,
    hat_source,
    load_dataset,
    predictor_config,
    predictor_path,
    sampling_space,
)
from llmpp.hardware.hat_released import HATReleasedModel
from llmpp.hardware.measure import LatencyMeter, MeasureConfig
from llmpp.hardware.predictor import MODELS, new_model, score, select_model
from llmpp.hardware.target import HardwareTarget
from llmpp.space.search_space import SearchSpace
from llmpp.task import TaskSpec

# How HAT timed its datasets (its latency_dataset configs: 20 timed runs, beam 5).
HAT_MEASUREMENT = MeasureConfig(protocol="hat", repeats=20, warmup=5, beam=5, src_len=30,
                                tgt_len=30, trim=0.1, seed=0)
RELEASED = "released"


def space_norm(space: SearchSpace) -> np.ndarray:
    """What divides HAT's raw features into the space's ``hat`` encoding (its largest choices)."""
    c = space.choices
    top = max(c["decoder_arbitrary_ende_attn"])
    return np.asarray([
        max(c["encoder_embed_dim"]), max(c["encoder_layer_num"]),
        max(c["encoder_ffn_embed_dim"]), max(c["encoder_self_attention_heads"]),
        max(c["decoder_embed_dim"]), max(c["decoder_layer_num"]),
        max(c["decoder_ffn_embed_dim"]), max(c["decoder_self_attention_heads"]),
        max(c["decoder_ende_attention_heads"]), 1 if top == -1 else top + 1,
    ], dtype=np.float64)


def model_inputs(kind: str, raw: np.ndarray, space: SearchSpace) -> tuple[np.ndarray, str]:
    """A model kind's input rows from HAT's raw features, and the feature kind to serve with."""
    features = MODELS[kind].features
    if features == "hat":  # the space's normalised encoding is raw / its largest choices
        return raw / space_norm(space), "hat"
    # Models that read analytic costs need per-layer values, which HAT's CSVs average
    # away; they read HAT's raw features and standardise them themselves.
    return raw, "hat_raw"


class MeasuredTarget(HardwareTarget):
    """A device HAT measured; its latency predictor is built from HAT's release.

    Args:
        name: short name (``titanxp``).
        dataset_device: HAT's device suffix (``gpu_titanxp``).
        title: the device in words, recorded as its metadata.
        model: ``released`` (HAT's trained predictor) or an llmpp latency model kind /
            ``auto``, fitted on HAT's training split.
        models: options per model kind (as ``llmpp latency``'s ``fit.models``).
        cv_folds: folds of ``auto``'s cross-validation on the training split.
        seed: seeds a fitted model.
        hat_root: a local copy of HAT's release (None: ``LLMPP_HAT_ROOT``, else the cache).
        latency_predictor: an artifact written from this target (``llmpp latency``); when
            set it is loaded instead of building the predictor again.
    """

    measured = True

    def __init__(self, *, name: str, dataset_device: str, title: str = "",
                 model: str = RELEASED, models: Mapping[str, Any] | None = None,
                 cv_folds: int = 3, seed: int = 0, hat_root: str | None = None,
                 latency_predictor: str | None = None, device: str = "cpu",
                 threads: int | None = None) -> None:
        super().__init__(name=name, device=device, threads=threads,
                         latency_predictor=latency_predictor)
        self.dataset_device, self.title = str(dataset_device), str(title or dataset_device)
        self.model, self.cv_folds, self.seed = str(model), int(cv_folds), int(seed)
        self.models = {k: dict(v or {}) for k, v in (models or {}).items()}
        self.hat_root = hat_root
        if self.model not in (RELEASED, "auto", *MODELS):
            raise ConfigError(f"hardware.model={self.model!r}; use {RELEASED}, auto or one of "
                              f"{', '.join(sorted(MODELS))}")

    def meter(self, **_: Any) -> LatencyMeter:
        raise ConfigError(f"hardware={self.name} is HAT's measured data, nothing to time here; "
                          "use hardware=cpu or hardware=cuda to measure this machine")

    def metadata(self, threads: int | None = None) -> dict[str, Any]:
        return {"name": self.name, "device": self.title, "source":
                f"{HAT.repository}@{HAT.commit[:7]}", "dataset_device": self.dataset_device}

    def dataset_name(self, task: TaskSpec) -> str:
        """HAT's dataset of ``task`` on this device; refuses a task HAT did not measure."""
        name = f"{task.gold_name}_{self.dataset_device}" if task.gold_name else ""
        if name not in dataset_names():
            have = [n.removesuffix("_" + self.dataset_device) for n in dataset_names()
                    if n.endswith("_" + self.dataset_device)]
            raise ConfigError(f"HAT measured no task {task.name} on {self.name} (it has "
                              f"{', '.join(have)}); pass a task HAT measured or hardware=cpu")
        return name

    def check(self, space: SearchSpace, task: TaskSpec) -> str:
        """The dataset name, after checking ``space`` lies inside HAT's sampled space."""
        name = self.dataset_name(task)
        sampled = sampling_space(name, self._source())
        outside = [f"{field}={sorted(set(space.choices[field]) - set(allowed))}"
                   for field, allowed in sampled["choices"].items()
                   if not set(space.choices[field]) <= set(allowed)]
        if space.qkv_dim != sampled["qkv_dim"]:
            outside.append(f"qkv_dim={space.qkv_dim}")
        if outside:
            raise ConfigError(f"space {space.name} is not the space HAT measured on {self.name} "
                              f"({', '.join(outside)} outside it); pass space=hat_space0")
        return name

    def _source(self) -> ReleaseSource:
        return hat_source(self.hat_root)

    def load_latency_predictor(self, space: SearchSpace, task: TaskSpec) -> LatencyPredictor:
        """The saved artifact if one is set, else the predictor built from HAT's release."""
        if self.latency_predictor:
            return super().load_latency_predictor(space, task)
        payload = self.build_payload(space, task)
        return LatencyPredictor(payload, space, task, source=f"hardware={self.name}")

    def build_payload(self, space: SearchSpace, task: TaskSpec) -> dict[str, Any]:
        """An artifact payload: HAT's released or a fitted predictor, scored on HAT's test split."""
        name = self.check(space, task)
        source = self._source()
        data = load_dataset(name, source)
        parts = data.split()
        if self.model == RELEASED:
            model, kind, cv = released_model(name, source), RELEASED, {}
            inputs, features = data.features, "hat_raw"
        else:
            model, kind, cv, inputs, features = self._fit(data, parts["train"], space)
        y = data.latency
        test = score(model.predict(inputs[parts["test"]]), y[parts["test"]])
        model.features = features  # how the artifact encodes an architecture
        return artifact_payload(
            model, space=space, task=task, hardware=self.metadata(),
            measurement=HAT_MEASUREMENT,
            training={"source": f"{HAT.repository}@{HAT.commit}", "dataset": name,
                      "model": self.model, "chosen": kind, "split": "HAT's: 80/10/10 in order",
                      "train": len(parts["train"]), "test": len(parts["test"]),
                      "seed": self.seed},
            metrics={"test": test, "cv": cv,
                     "noise_ms": {"median": float(np.median(data.noise[parts["test"]]))}},
        )

    def _fit(self, data: HATData, train: np.ndarray, space: SearchSpace):
        candidates = list(AUTO_KINDS) if self.model == "auto" else [self.model]
        inputs = {k: model_inputs(k, data.features, space) for k in candidates}
        y = data.latency
        cv: dict[str, dict[str, float]] = {}
        kind = candidates[0]
        if self.model == "auto":
            selection = select_model(candidates, {k: x[train] for k, (x, _) in inputs.items()},
                                     y[train], self.models, folds=self.cv_folds, seed=self.seed)
            kind, cv = selection.kind, selection.cv
        x, features = inputs[kind]
        model = new_model(kind, self.models.get(kind)).fit(x[train], y[train], self.seed)
        return model, kind, cv, x, features


# What ``model: auto`` cross-validates on HAT's data (see docs/BENCHMARKS.md).
AUTO_KINDS = ("costs", "costs_gbdt", "gbdt")


def released_model(name: str, source: ReleaseSource | None = None) -> HATReleasedModel:
    """HAT's released predictor of dataset ``name`` with its config's norms."""
    path = predictor_path(name, source)
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user problem
        raise CorruptFileError(f"{path} is not a readable HAT predictor "
                               f"({' '.join(str(exc).split())[:80]})") from None
    return HATReleasedModel.from_config(state, predictor_config(name, source))
