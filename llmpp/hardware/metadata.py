"""What a latency number was measured on: device, CPU model, threads, versions."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo`` on Linux, else ``platform``)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


def device_metadata(device: str, threads: int | None = None) -> dict[str, Any]:
    """Everything that makes a latency measurement comparable with another one.

    Args:
        device: ``cpu`` or ``cuda[:n]``.
        threads: the torch intra-op threads used (default: the current setting).
    """
    meta: dict[str, Any] = {
        "device": device,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": int(threads if threads is not None else torch.get_num_threads()),
        "torch": str(torch.__version__),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "gpu_name": None,
        "cuda": None,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index or 0
        meta["gpu_name"] = torch.cuda.get_device_name(index)
        meta["cuda"] = torch.version.cuda
    return meta
