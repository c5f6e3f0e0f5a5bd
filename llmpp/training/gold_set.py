"""Gold sets in the authors' layout from architectures trained from scratch.

``<dir>/<seed>/<task>/{train,test}.jsonl``: for each seed the records are shuffled
with that seed and split into ``demos`` demonstrations and ``test`` test records,
exactly the shape ``llmpp benchmark benchmark.gold=<dir>`` reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from llmpp.errors import ConfigError, CorruptFileError, DataNotFoundError
from llmpp.gold.records import GoldRecord, read_records
from llmpp.metrics.efficiency import efficiency
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace
from llmpp.utils.io import atomic_open

EFFICIENCY_FIELDS = (
    "num_parameters_without_embedding_weights",
    "num_embedding_parameters",
    "total_flops",
    "last_layer_flops",
    "total_flops_without_last_layer",
)


def read_arch_file(path: str | Path, space: SearchSpace) -> list[Architecture]:
    """Architectures from a YAML file (one HAT mapping or a list) or a JSONL gold file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataNotFoundError(f"architecture file {path} does not exist")
    if path.suffix == ".jsonl":
        return [space.validate(r.arch) for r in read_records(path)]
    try:
        payload = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise CorruptFileError(f"{path} is not valid YAML ({exc})") from None
    items = payload if isinstance(payload, list) else [payload]
    return [space.from_hat(item) for item in items]


def make_record(
    arch: Architecture,
    result: Mapping[str, Any],
    vocab_size: int,
    qkv_dim: int,
    extra: Mapping[str, Mapping[str, float]] | None = None,
) -> GoldRecord:
    """A record with the from-scratch scores, efficiency fields and predictor columns."""
    gold = {
        k: float(result[k])
        for k in ("valid_BLEU", "test_BLEU", "valid_loss", "test_loss")
        if k in result
    }
    eff = efficiency(arch, vocab_size, qkv_dim).as_dict()
    metrics = {k: eff[k] for k in EFFICIENCY_FIELDS}
    return GoldRecord(arch=arch, gold=gold, metrics=metrics, recorded=dict(extra or {}))


def write_gold_set(
    records: Sequence[GoldRecord],
    root: Path,
    task_name: str,
    *,
    seeds: Sequence[int],
    demos: int,
    test: int,
) -> list[Path]:
    """Write the per-seed demonstration/test splits; returns the files written."""
    if demos + test > len(records):
        raise ConfigError(
            f"a gold set of {demos} demonstrations + {test} test records needs {demos + test} "
            f"architectures but only {len(records)} were trained; lower split.demos/split.test"
        )
    written = []
    for seed in seeds:
        order = np.random.default_rng(int(seed)).permutation(len(records))
        parts = {"train": order[:demos], "test": order[demos : demos + test]}
        for split, rows in parts.items():
            path = root / str(seed) / task_name / f"{split}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_open(path) as handle:
                for i in rows:
                    handle.write(json.dumps(records[int(i)].to_json()) + "\n")
            written.append(path)
    return written
