"""HAT's released latency data: measured datasets, its predictors and their configs.

HAT (Wang et al., 2020) timed 2,000 SubTransformers of its space on real devices
(NVIDIA TITAN Xp, an Intel Xeon CPU, a Raspberry Pi) for several tasks and trained
one latency predictor per dataset. llmpp reads that release as data: downloaded
from HAT's repository at a pinned commit, checked against the SHA-256 manifest
shipped beside this module (``hat-<commit>.sha256``), cached, or read from a local
copy (``hardware.hat_root=`` / ``LLMPP_HAT_ROOT``) — never committed.

A dataset is ``<task>_<device>`` (``wmt14ende_gpu_titanxp``): rows of HAT's 10
features (per-layer averages) and the measured encoder / decoder means and
standard deviations in milliseconds; HAT's latency is encoder + decoder. HAT's
split is positional: the first 80 % train, the next 10 % valid, the last 10 % test.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from llmpp.errors import ConfigError, CorruptFileError
from llmpp.gold.source import Release, ReleaseSource, manifest

HAT = Release(
    repository="mit-han-lab/hardware-aware-transformers",
    commit="70e5a279d080670208249fdd98ed731fa9bcc466",
    mirror="https://raw.githubusercontent.com/mit-han-lab/hardware-aware-transformers",
    package="llmpp.hardware",
    prefix="hat",
    subdir="",
    env="LLMPP_HAT_ROOT",
    root_key="hardware.hat_root",
    what="HAT's release (its latency_dataset/ and configs/ folders)",
    name="HAT's latency data",
)

FEATURES = (
    "encoder_embed_dim",
    "encoder_layer_num",
    "encoder_ffn_embed_dim_avg",
    "encoder_self_attention_heads_avg",
    "decoder_embed_dim",
    "decoder_layer_num",
    "decoder_ffn_embed_dim_avg",
    "decoder_self_attention_heads_avg",
    "decoder_ende_attention_heads_avg",
    "decoder_arbitrary_ende_attn_avg",
)
TARGETS = ("latency_mean_encoder", "latency_mean_decoder", "latency_std_encoder",
           "latency_std_decoder")
# Task names in file names (``wmt14ende``) and config folders (``wmt14.en-de``).
TASK_FOLDERS = {"wmt14ende": "wmt14.en-de", "wmt14enfr": "wmt14.en-fr",
                "wmt19ende": "wmt19.en-de", "iwslt14deen": "iwslt14.de-en"}
DEVICES = ("gpu_titanxp", "cpu_xeon", "cpu_raspberrypi")
# HAT's sampling-space keys -> llmpp's architecture fields.
CHOICE_KEYS = {
    "encoder-embed-choice": "encoder_embed_dim",
    "decoder-embed-choice": "decoder_embed_dim",
    "encoder-ffn-embed-dim-choice": "encoder_ffn_embed_dim",
    "decoder-ffn-embed-dim-choice": "decoder_ffn_embed_dim",
    "encoder-layer-num-choice": "encoder_layer_num",
    "decoder-layer-num-choice": "decoder_layer_num",
    "encoder-self-attention-heads-choice": "encoder_self_attention_heads",
    "decoder-self-attention-heads-choice": "decoder_self_attention_heads",
    "decoder-ende-attention-heads-choice": "decoder_ende_attention_heads",
    "decoder-arbitrary-ende-attn-choice": "decoder_arbitrary_ende_attn",
}


def hat_source(root: str | os.PathLike | None = None) -> ReleaseSource:
    """Verified paths of HAT's release: ``root``, else ``LLMPP_HAT_ROOT``, else the cache."""
    return ReleaseSource(root, release=HAT)


def dataset_names() -> list[str]:
    """Every ``<task>_<device>`` the release holds (from llmpp's manifest)."""
    entries = manifest(HAT.commit, HAT)
    return sorted(
        Path(p).name.removesuffix("_all.csv") for p in entries
        if p.startswith("latency_dataset/") and p.endswith("_all.csv")
    )


@dataclass(frozen=True)
class HATData:
    """One measured dataset in HAT's row order (``load_dataset``)."""

    name: str
    features: np.ndarray  # [n, 10] HAT's raw features
    encoder_ms: np.ndarray
    decoder_ms: np.ndarray
    encoder_std: np.ndarray
    decoder_std: np.ndarray

    @property
    def latency(self) -> np.ndarray:
        """HAT's latency: encoder mean + decoder mean (ms)."""
        return self.encoder_ms + self.decoder_ms

    @property
    def noise(self) -> np.ndarray:
        """Standard deviation of one timed run of the whole model (ms), parts independent."""
        return np.sqrt(self.encoder_std**2 + self.decoder_std**2)

    def split(self) -> dict[str, np.ndarray]:
        """HAT's positional split: first 80 % train, next 10 % valid, last 10 % test."""
        n = len(self.latency)
        a, b = int(n * 0.8), int(n * 0.9)
        index = np.arange(n)
        return {"train": index[:a], "valid": index[a:b], "test": index[b:]}


def _task_device(name: str) -> tuple[str, str]:
    for device in DEVICES:
        if name.endswith("_" + device):
            return name.removesuffix("_" + device), device
    raise ConfigError(f"{name!r} is not a dataset of HAT's release; use one of "
                      f"{', '.join(dataset_names())}")


def _check_name(name: str) -> None:
    if name not in dataset_names():
        raise ConfigError(f"HAT released no latency dataset {name!r}; use one of "
                          f"{', '.join(dataset_names())}")


@cache
def _load(name: str, path: Path) -> HATData:
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        table = np.asarray([[float(r[k]) for k in (*FEATURES, *TARGETS)] for r in rows])
    except (KeyError, ValueError, TypeError) as exc:
        raise CorruptFileError(f"{path} is not HAT's latency CSV ({str(exc)[:60]})") from None
    f = len(FEATURES)
    return HATData(name=name, features=table[:, :f], encoder_ms=table[:, f],
                   decoder_ms=table[:, f + 1], encoder_std=table[:, f + 2],
                   decoder_std=table[:, f + 3])


def load_dataset(name: str, source: ReleaseSource | None = None) -> HATData:
    """The measured rows of ``name`` (e.g. ``wmt14ende_gpu_titanxp``), verified."""
    _check_name(name)
    source = source or hat_source()
    return _load(name, source.path(f"latency_dataset/{name}_all.csv"))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise CorruptFileError(f"{path} is not YAML ({str(exc)[:60]})") from None
    if not isinstance(data, dict):
        raise CorruptFileError(f"{path} is not one of HAT's configs")
    return data


def predictor_config(name: str, source: ReleaseSource | None = None) -> dict[str, Any]:
    """HAT's training config of the predictor for ``name`` (feature-norm, lat-norm, shapes)."""
    _check_name(name)
    task, device = _task_device(name)
    source = source or hat_source()
    return _read_yaml(source.path(f"configs/{TASK_FOLDERS[task]}/latency_predictor/{device}.yml"))


def predictor_path(name: str, source: ReleaseSource | None = None) -> Path:
    """The verified path of HAT's released predictor (``.pt`` state dict) for ``name``."""
    _check_name(name)
    return (source or hat_source()).path(f"latency_dataset/predictors/{name}.pt")


def sampling_space(name: str, source: ReleaseSource | None = None) -> dict[str, Any]:
    """The choices HAT sampled ``name``'s architectures from, by llmpp field, and qkv_dim."""
    _check_name(name)
    task, device = _task_device(name)
    source = source or hat_source()
    config = _read_yaml(source.path(f"configs/{TASK_FOLDERS[task]}/latency_dataset/{device}.yml"))
    try:
        choices = {field: list(config[key]) for key, field in CHOICE_KEYS.items()}
        return {"choices": choices, "qkv_dim": int(config["qkv-dim"])}
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptFileError(f"HAT's dataset config for {name} lacks {exc}") from None
