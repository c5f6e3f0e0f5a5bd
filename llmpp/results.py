"""What the stages return: result objects with declared fields over their JSON documents.

A stage's ``run(cfg, out_dir)`` returns one of these. The declared fields are the
contract: what ``llmpp run``'s later steps read (their inputs name them, checked
before any step runs) and what tools rely on. Everything else the stage reports rides
along in ``extra`` unchanged, so ``<stage>.json`` and the pipeline's ``result.json``
keep their shape. A result also reads like its JSON document (``result["steps"]``,
``"search" in result``), the view the stage's JSON files and other tools have.

Only the light standard library here: the registry, the CLI and the pipeline import
these types without loading torch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar

from llmpp.errors import CorruptFileError

R = TypeVar("R", bound="StageResult")


@dataclass(frozen=True, kw_only=True)
class StageResult(Mapping[str, Any]):
    """Base of every result: declared fields (subclasses) plus the rest of the payload.

    Args:
        extra: the payload's keys that are not declared fields, kept as they are.
    """

    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def declared(cls) -> tuple[str, ...]:
        """The names of the declared fields (what a step input may read)."""
        return tuple(f.name for f in fields(cls) if f.name != "extra")

    @classmethod
    def from_json(cls: type[R], doc: Mapping[str, Any], *, source: str = "") -> R:
        """A result from a payload or a saved ``result.json``.

        Args:
            doc: the JSON document.
            source: where ``doc`` was read (named in the error when a field is missing);
                empty for a payload a stage just returned.
        """
        required = {f.name for f in fields(cls)
                    if f.name != "extra" and f.default is MISSING and f.default_factory is MISSING}
        missing = sorted(required - set(doc))
        if missing:
            where = f"{source} " if source else "the payload "
            fix = (f"; delete {source.rsplit('/', 1)[0]} to recompute it" if source
                   else "; the stage no longer writes what it declares")
            raise CorruptFileError(f"{where}lacks the {cls.__name__} field(s) "
                                   f"{', '.join(missing)}{fix}")
        names = set(cls.declared())
        return cls(**{k: v for k, v in doc.items() if k in names},
                   extra={k: v for k, v in doc.items() if k not in names})

    def to_json(self) -> dict[str, Any]:
        """The JSON document: the extra keys and the declared fields (an optional field
        left at None is left out, as the stage's own JSON file leaves it out)."""
        declared = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"
                    and not (getattr(self, f.name) is None and f.default is None)}
        return {**self.extra, **declared}

    # Mapping over the JSON document (read-only).
    def __getitem__(self, key: str) -> Any:
        return self.to_json()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_json())

    def __len__(self) -> int:
        return len(self.to_json())


@dataclass(frozen=True, kw_only=True)
class SupernetResult(StageResult):
    """``llmpp supernet``: the trained SuperTransformer (``supernet.json``)."""

    checkpoint: str  # <run dir>/checkpoints/last.ckpt: predictor=supernet and retrain read it
    task: str
    space: str
    space_hash: str
    model: str  # the supernet kind's class
    steps: int
    resumed_from: str | None  # the checkpoint a resumed run started from (None: fresh)


@dataclass(frozen=True, kw_only=True)
class LatencyResult(StageResult):
    """``llmpp latency``: the latency dataset and its fitted predictor (``latency.json``)."""

    artifact: str  # latency_predictor.pt: hardware.latency_predictor= of later stages
    csv: str | None  # None: a target HAT measured (nothing was timed here)
    task: str
    space: str
    space_hash: str
    test: dict[str, Any]  # held-out MAPE and Kendall tau


@dataclass(frozen=True, kw_only=True)
class RetrainResult(StageResult):
    """``llmpp retrain``: one architecture's scores, or a list's and its gold set."""

    task: str
    space: str
    gold_dir: str | None = None  # a list run long enough for a gold set
    results: list[dict[str, Any]] | None = None  # a list run: one row per architecture


@dataclass(frozen=True, kw_only=True)
class LabelResult(StageResult):
    """``llmpp label``: the teacher's labels (``label.json``)."""

    labels: str  # labels.jsonl: distill's labels=
    rows: int
    constant_labels: bool
    tasks: dict[str, Any]  # per task: labelled, failed, cost


@dataclass(frozen=True, kw_only=True)
class DistillResult(StageResult):
    """``llmpp distill``: the LLM-Distill-PP checkpoint (``distill.json``)."""

    checkpoint: str  # distill.ckpt: predictor=llm_distill, the search's distill_checkpoint
    task: str
    heldout: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class SearchResult(StageResult):
    """``llmpp search``: the best architecture and the search's account (``search.json``)."""

    best: dict[str, Any] | None  # arch (HAT mapping), score, predictor, metrics; None: none
    run_dir: str
    task: str
    hardware: str


@dataclass(frozen=True, kw_only=True)
class DescribeResult(StageResult):
    """``llmpp describe``: one architecture's efficiency (printed as JSON; nothing written)."""

    arch: dict[str, Any]  # the HAT mapping, validated against the space
    arch_key: str
    task: str
    space: str
    space_hash: str
    metrics: dict[str, Any]  # GFLOPs, parameters...
    latency_ms: float | None = None  # predicted, with hardware.latency_predictor=


@dataclass(frozen=True, kw_only=True)
class BenchmarkResult(StageResult):
    """``llmpp benchmark``: a predictor on the gold benchmark (``benchmark.json``)."""

    predictor: str
    protocol: dict[str, Any]  # demos, test, seeds, gold field, gold set
    tasks: dict[str, Any]  # per task: MAE, Kendall, Spearman, P@5 (mean, std, each seed)
    cost: dict[str, Any]  # LLM calls, tokens, USD


@dataclass(frozen=True, kw_only=True)
class ReportResult(StageResult):
    """``llmpp report``: one comparison of finished runs (``report.md``, ``report.csv``)."""

    paths: dict[str, str]  # what was written, by name: markdown, csv, plot_<kind>
    runs: int  # the finished runs compared
    table: str  # the Markdown text of report.md


@dataclass(frozen=True, kw_only=True)
class DataResult(StageResult):
    """``llmpp data``: each task's corpus statistics by task name (``data.json``); no field
    is declared, as no step reads them."""


@dataclass(frozen=True, kw_only=True)
class RunResult(StageResult):
    """``llmpp run``: the pipeline's summary (``summary.json``)."""

    best: dict[str, Any]  # the searched architecture and its scores (arch None: none found)
    stages: dict[str, Any]  # per step: its dir, reused or not, seconds
    warnings: list[str]
