"""The demonstrations of a protocol seed: the architectures a teacher is fitted on.

Every consumer (the benchmark protocol, ``llmpp label``, any-predictor teachers) reads
them here, so which gold set and which gold field they come from is decided once.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from llmpp.gold.records import GoldRecord, load_gold_split
from llmpp.gold.source import GoldSource
from llmpp.predictors.base import Demonstration


def as_demonstrations(
    records: Iterable[GoldRecord], gold_field: str = "valid_BLEU"
) -> list[Demonstration]:
    """Gold records as demonstrations scored by ``gold_field``."""
    return [Demonstration(record.arch, record.score(gold_field)) for record in records]


def seed_demonstrations(
    gold_task: str,
    seed: int,
    *,
    source: GoldSource | None = None,
    gold_dir: str | Path | None = None,
    gold_field: str = "valid_BLEU",
) -> list[Demonstration]:
    """The training split of ``seed`` (the authors' 10 architectures, or ``gold_dir``'s)."""
    records = load_gold_split(gold_task, seed, "train", source=source, gold_dir=gold_dir)
    return as_demonstrations(records, gold_field)
