"""Records in the authors' format: an architecture, its gold BLEU, recorded predictions."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmpp.errors import CorruptFileError, DataNotFoundError, InvalidArchitectureError
from llmpp.gold.source import GoldSource
from llmpp.space.architecture import Architecture

SEEDS = (123, 456, 789)
SPLITS = ("train", "test")
# Columns of weight-sharing supernet predictions recorded in the authors' files.
RECORDED_COLUMNS = ("HAT", "Supernet (Sandwich)", "Layer-wise MoS", "Neuron-wise MoS")


@dataclass(frozen=True)
class GoldRecord:
    """One architecture trained from scratch, with what predictors said about it."""

    arch: Architecture
    gold: Mapping[str, float]  # e.g. {"valid_BLEU": 25.9, "test_BLEU": 27.6}
    metrics: Mapping[str, float] = field(default_factory=dict)  # total_flops, ...
    recorded: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def score(self, gold_field: str = "valid_BLEU") -> float:
        try:
            return float(self.gold[gold_field])
        except KeyError:
            raise DataNotFoundError(
                f"gold field {gold_field!r} is not in the records; "
                f"available: {', '.join(self.gold)}"
            ) from None

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> GoldRecord:
        scratch = payload["scratch"]
        arch = Architecture.from_arch_info(scratch["arch_info"])
        gold = {
            k: float(v) for k, v in scratch.items() if k.endswith("_BLEU") or k.endswith("_loss")
        }
        metrics = {
            k: float(v)
            for k, v in scratch.items()
            if k not in gold and isinstance(v, int | float) and not isinstance(v, bool)
        }
        recorded = {
            name: {k: float(v) for k, v in values.items()}
            for name, values in payload.items()
            if name != "scratch" and isinstance(values, Mapping)
        }
        return cls(arch=arch, gold=gold, metrics=metrics, recorded=recorded)

    def to_json(self) -> dict[str, Any]:
        scratch: dict[str, Any] = {
            **self.gold,
            "arch_info": self.arch.to_arch_info(),
            **self.metrics,
        }
        return {"scratch": scratch, **{k: dict(v) for k, v in self.recorded.items()}}


def read_records(path: Path) -> list[GoldRecord]:
    """Parse a JSONL file of records; a malformed line is a corrupt file."""
    records = []
    with open(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(GoldRecord.from_json(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError, InvalidArchitectureError) as exc:
                raise CorruptFileError(
                    f"{path}:{number} is not a valid gold record ({exc})"
                ) from None
    return records


def load_gold_split(
    gold_task: str,
    seed: int,
    split: str,
    *,
    source: GoldSource | None = None,
    gold_dir: str | Path | None = None,
) -> list[GoldRecord]:
    """Demonstrations (``train``) or test records of one task and seed.

    ``gold_dir`` is a gold set in the same layout (``<seed>/<task>/<split>.jsonl``),
    e.g. one built by ``llmpp retrain``; otherwise the authors' release is used.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    if gold_dir is not None:
        path = Path(gold_dir) / str(seed) / gold_task / f"{split}.jsonl"
        if not path.is_file():
            raise DataNotFoundError(
                f"gold set file {path} does not exist; pass benchmark.gold=<dir with "
                "<seed>/<task>/{train,test}.jsonl> (llmpp retrain writes one)"
            )
    else:
        source = source or GoldSource()
        path = source.path(f"train-test_seedarchs/{seed}/{gold_task}/{split}.jsonl")
    return read_records(path)


def load_pool(
    gold_task: str, seed: int, dest_seed: int, *, source: GoldSource | None = None
) -> list[Architecture]:
    """One of the authors' 500-architecture distillation pools (no labels)."""
    source = source or GoldSource()
    path = source.path(f"bleu_predictor_data/{dest_seed}/{seed}/{gold_task}/test.jsonl")
    return [record.arch for record in read_records(path)]


def unique_archs(records: Sequence[GoldRecord]) -> list[Architecture]:
    seen: dict[str, Architecture] = {}
    for record in records:
        seen.setdefault(record.arch.key(), record.arch)
    return list(seen.values())
