"""``latency.csv``: measured latencies, one row per architecture, appended as measured.

Rows are appended and flushed one chunk at a time, so a killed run keeps every
finished row and a rerun measures only the architectures still missing. A line cut
short by the kill is dropped when the file is reopened.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path

from llmpp.errors import CorruptFileError
from llmpp.hardware.measure import LatencyRecord
from llmpp.space.architecture import Architecture

COLUMNS = ("key", "latency_ms", "encoder_ms", "decoder_ms", "iqr_rel", "max_min", "repeats",
           "arch")


def _drop_partial_line(path: Path) -> None:
    """Cut a trailing line without newline (a write interrupted by a kill)."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


class LatencyDataset:
    """The measured rows of one run dir's ``latency.csv``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records: dict[str, LatencyRecord] = {}
        if self.path.is_file():
            _drop_partial_line(self.path)
            self._read()

    def _read(self) -> None:
        with self.path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames and tuple(reader.fieldnames) != COLUMNS:
                raise CorruptFileError(
                    f"{self.path} has columns {reader.fieldnames}, not {list(COLUMNS)}; "
                    "move it away and rerun `llmpp latency`"
                )
            for i, row in enumerate(reader, start=2):
                try:
                    record = _from_row(row)
                except (ValueError, TypeError, KeyError) as exc:
                    raise CorruptFileError(
                        f"{self.path}:{i} is not a latency row ({str(exc)[:60]}); delete that "
                        "line and rerun to measure it again"
                    ) from None
                self.records[record.arch.key()] = record

    def __contains__(self, arch: Architecture) -> bool:
        return arch.key() in self.records

    def __len__(self) -> int:
        return len(self.records)

    def get(self, arch: Architecture) -> LatencyRecord:
        return self.records[arch.key()]

    def append(self, records: Sequence[LatencyRecord]) -> None:
        """Add rows to the file (header first if new) and make them durable."""
        new = not self.path.is_file() or self.path.stat().st_size == 0
        with self.path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(COLUMNS)
            for record in records:
                writer.writerow(_to_row(record))
                self.records[record.arch.key()] = record
            handle.flush()
            os.fsync(handle.fileno())


def _to_row(r: LatencyRecord) -> list[str]:
    return [r.arch.key(), f"{r.latency_ms:.6g}", f"{r.encoder_ms:.6g}", f"{r.decoder_ms:.6g}",
            f"{r.iqr_rel:.6g}", f"{r.max_min:.6g}", str(r.repeats),
            json.dumps(r.arch.to_hat(), separators=(",", ":"))]


def _from_row(row: dict[str, str]) -> LatencyRecord:
    arch = Architecture.from_hat(json.loads(row["arch"]))
    return LatencyRecord(
        arch=arch,
        latency_ms=float(row["latency_ms"]),
        encoder_ms=float(row["encoder_ms"]),
        decoder_ms=float(row["decoder_ms"]),
        iqr_rel=float(row["iqr_rel"]),
        max_min=float(row["max_min"]),
        repeats=int(row["repeats"]),
    )
