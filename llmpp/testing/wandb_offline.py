"""Read back what an offline W&B run recorded (tests check group, job type, metrics).

An offline run keeps its records in ``run-<id>.wandb``: a 7-byte header (``:W&B``,
a magic number, a version), then 32 KiB blocks of length-prefixed chunks (LevelDB's
log format: crc32 (4 bytes), length (2), type (1)), each full record a serialized
``wandb.proto.wandb_internal_pb2.Record``. W&B 0.31 ships no Python reader for it.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK = 32 * 1024
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def _chunks(data: bytes) -> Iterator[tuple[int, bytes]]:
    pos = HEADER  # the file header
    while pos + HEADER <= len(data):
        block_left = BLOCK - (pos % BLOCK)
        if block_left < HEADER:  # padding at the end of a block
            pos += block_left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        if kind == 0 and length == 0:
            pos += block_left
            continue
        yield kind, data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length


def records(path: Path) -> Iterator[Any]:
    """Every protobuf record of a ``.wandb`` file, in order."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    if data[:4] != b":W&B":
        raise ValueError(f"{path} is not a W&B run file")
    pending = b""
    for kind, chunk in _chunks(data):
        if kind == FULL:
            payload = chunk
        elif kind == FIRST:
            pending = chunk
            continue
        elif kind == MIDDLE:
            pending += chunk
            continue
        else:  # LAST
            payload, pending = pending + chunk, b""
        record = pb.Record()
        record.ParseFromString(payload)
        yield record


@dataclass
class OfflineRun:
    """What one offline run holds: its identity and the metric keys it logged."""

    path: Path
    name: str = ""
    group: str = ""
    job_type: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    metric_keys: set[str] = field(default_factory=set)
    summary: dict[str, Any] = field(default_factory=dict)


def read_run(path: Path) -> OfflineRun:
    """Parse one ``run-<id>.wandb`` file."""
    run = OfflineRun(path=Path(path))
    for record in records(path):
        which = record.WhichOneof("record_type")
        if which == "run":
            run.name, run.group = record.run.display_name, record.run.run_group
            run.job_type = record.run.job_type
        elif which == "history":
            run.metric_keys.update(
                item.key or "/".join(item.nested_key) for item in record.history.item
            )
        elif which == "config":
            for item in record.config.update:
                run.config[item.key] = json.loads(item.value_json)
        elif which == "summary":
            for item in record.summary.update:
                key = item.key or "/".join(item.nested_key)
                run.summary[key] = json.loads(item.value_json)
    return run


def offline_runs(root: Path) -> list[OfflineRun]:
    """Every offline run under ``root`` (any depth)."""
    return [read_run(p) for p in sorted(Path(root).rglob("offline-run-*/run-*.wandb"))]
