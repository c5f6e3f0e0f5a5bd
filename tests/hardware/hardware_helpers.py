"""Shared pieces of the hardware tests: a tiny protocol, a synthetic latency artifact."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llmpp.hardware.artifact import artifact_payload, save_artifact
from llmpp.hardware.features import encode_features
from llmpp.hardware.metadata import device_metadata
from llmpp.hardware.predictor import new_model
from llmpp.space.search_space import SearchSpace
from llmpp.task import TaskSpec
from llmpp.testing.settings import measure_config

TINY = measure_config(beam=2, src_len=4, tgt_len=3, warmup=0, repeats=3)
TINY_OVERRIDES = [
    "logger=none",  # tests that check logging ask for it
    "measure.beam=2", "measure.src_len=4", "measure.tgt_len=3",
    "measure.warmup=0", "measure.repeats=2", "progress=false",
]
MINI_TASK = TaskSpec(name="synthetic_en_de", title="t", source_lang="en", target_lang="de",
                     vocab_size=1000, gold_name=None)


def synthetic_latency(space: SearchSpace, archs, vocab_size: int = 1000) -> np.ndarray:
    """A known latency function: a positive combination of the analytic costs."""
    x = encode_features(archs, "analytic", space=space, vocab_size=vocab_size, measure=TINY)
    weights = np.array([0.4, 30.0, 0.05, 12.0, 40.0, 0.2, 0.3])
    return 1.0 + x @ weights


def write_tiny_artifact(path: Path, space: SearchSpace, kind: str = "linear",
                        task: TaskSpec = MINI_TASK) -> np.ndarray:
    """Fit ``kind`` on the synthetic latency of 40 sampled archs; save; returns its predictions."""
    archs = space.sample(np.random.default_rng(0), 40)
    y = synthetic_latency(space, archs, task.vocab_size)
    features = "analytic" if kind == "linear" else "hat"
    x = encode_features(archs, features, space=space, vocab_size=task.vocab_size, measure=TINY)
    options = {"steps": 50} if kind in ("mlp", "hat_mlp") else {}
    model = new_model(kind, options).fit(x, y)
    save_artifact(path, artifact_payload(
        model, space=space, task=task, hardware=device_metadata("cpu"), measurement=TINY,
        training={"samples": 40}, metrics={"test": {"mape": 0.0, "kendall_tau": 1.0}}))
    return model.predict(x)
