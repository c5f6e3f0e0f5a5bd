"""A hardware target (``conf/hardware/<name>.yaml``): where latency is measured.

The target names the device, the thread count and its fitted latency predictor
artifact, so any quality predictor combines with any hardware: a search reads
``hardware.latency_predictor`` for ``constraint=latency`` whatever ranks quality.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmpp.hardware.artifact import LatencyPredictor
from llmpp.hardware.measure import LatencyMeter, MeasureConfig
from llmpp.hardware.metadata import device_metadata
from llmpp.space.search_space import SearchSpace
from llmpp.task import TaskSpec


class HardwareTarget:
    """One device to measure on, and the latency predictor fitted for it.

    Args:
        name: short name used in file names (``cpu``, ``cuda``, ``xeon``...).
        device: torch device, ``cpu`` or ``cuda[:n]``.
        threads: torch intra-op threads while measuring (None: torch's default).
        latency_predictor: path of an artifact written by ``llmpp latency`` (or None).
    """

    def __init__(self, *, name: str, device: str = "cpu", threads: int | None = None,
                 latency_predictor: str | None = None) -> None:
        self.name, self.device = str(name), str(device)
        self.threads = None if threads is None else int(threads)
        self.latency_predictor = latency_predictor

    def meter(self, *, vocab_size: int, qkv_dim: int, config: MeasureConfig) -> LatencyMeter:
        """A meter timing standalone models on this device."""
        return LatencyMeter(vocab_size=vocab_size, qkv_dim=qkv_dim, device=self.device,
                            config=config)

    def metadata(self, threads: int | None = None) -> dict[str, Any]:
        """Device metadata (CPU model, threads, torch version, GPU name) plus the target name."""
        return {"name": self.name, **device_metadata(self.device, threads)}

    def load_latency_predictor(self, space: SearchSpace, task: TaskSpec) -> LatencyPredictor | None:
        """The fitted predictor for ``space`` and ``task``, or None when none is configured."""
        if not self.latency_predictor:
            return None
        path = Path(str(self.latency_predictor)).expanduser()
        return LatencyPredictor.load(path, space=space, task=task)
