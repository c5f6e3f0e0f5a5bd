"""The schema of every stage's config: structured configs in Hydra's ConfigStore.

Each primary config (``conf/<name>.yaml``) names its root schema first in its defaults
list (``- schema/<name>@_here_``); every YAML merged after it, every preset and every
override is then checked by Hydra itself at compose time: an unknown key or a value
of the wrong type ends composition (``llmpp.cli`` turns that into one line naming the
key). The dataclasses here hold the types; the values are written once, in YAML:
a stage's own settings in ``conf/steps/<stage>.yaml`` (the root of ``llmpp <stage>``
and the step's block of ``llmpp run``; the search's in the ``search`` node, beside the
algorithm's keys), shared slots in ``conf/stage_defaults.yaml``. No field here has a
default of its own (``tests/foundation/test_defaults_once.py``).

A block built by a class (a ``_target_`` block, or a block a stage feeds to a
dataclass such as ``measure``) is typed ``Any`` here: its keys and types are the
class's signature, checked by ``llmpp.config_check``; a field's ``metadata`` names
that class where the block has no ``_target_`` of its own. Such a class takes no default
for a key its block sets: the YAML's value is the only one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING


def signature(target: str, *, runtime: tuple[str, ...] = (),
              extra: dict[str, Any] | None = None) -> Any:
    """A block whose keys are the parameters of ``target`` (``pkg.module.Class``).

    Args:
        target: the class the stage builds from the block.
        runtime: its parameters the stage passes itself (not config keys).
        extra: keys the stage reads besides the class's parameters, with their types.
    """
    meta = {"signature": target, "runtime": runtime, "extra": dict(extra or {})}
    return field(default=MISSING, metadata=meta)


def registry(path: str) -> Any:
    """A mapping ``name -> options`` where ``module:NAME`` maps names to classes."""
    return field(default=MISSING, metadata={"registry": path})


def step_group(settings: str) -> Any:
    """A group whose option is built by its ``_target_`` and which also holds a step's own
    settings, the dataclass named ``settings`` (in this module): the ``search`` node holds
    the algorithm's keys (``search=hs_nas``) and the search step's (``SearchSettings``).

    Hydra sees one untyped node; ``llmpp.config_check`` splits it by the dataclass's
    fields, types those keys against it and the rest against the ``_target_``.
    """
    return field(default=None, metadata={"group": True, "settings": settings})


def choice(*values: str) -> Any:
    """A string setting with a fixed set of values (checked by ``llmpp.config_check``)."""
    return field(default=MISSING, metadata={"choices": values})


def group() -> Any:
    """A config group's slot: the option the defaults list selects (``_target_`` blocks).

    Its ``None`` is no value but the empty slot (a group set to ``null``); the option's
    values are the group's YAML.
    """
    return field(default=None, metadata={"group": True})


# ---- shared by every primary config (conf/stage_defaults.yaml and the groups) ----------
@dataclass
class SharedConfig:
    """Slots every stage offers: ``seed``, and the task, space and logger."""

    seed: int = MISSING
    task: Any = signature("llmpp.task.TaskSpec",
                          extra={"members": list[str], "data": dict[str, Any]})
    space: Any = group()
    logger: Any = group()


# ---- a stage's own settings (conf/steps/<stage>.yaml) ----------------------------------
@dataclass
class TrainingSettings:
    """The training groups a training stage places beside its settings."""

    optim: Any = group()
    trainer: Any = group()
    callbacks: Any = group()


@dataclass
class SupernetSettings(TrainingSettings):
    eval_archs: list[str] = MISSING
    eval_bleu_limit: int | None = MISSING
    beam: int = MISSING
    val_check_interval_updates: int | None = MISSING


@dataclass
class SplitSettings:
    seeds: list[int] = MISSING
    demos: int = MISSING
    test: int = MISSING


@dataclass
class RetrainSettings(TrainingSettings):
    arch: Any = MISSING  # a HAT YAML path or mapping
    archs: Any = MISSING  # a YAML list path, a JSONL gold file or a list of mappings
    n_archs: int = MISSING
    sample_seed: int = MISSING
    eval_bleu_limit: int | None = MISSING
    beam: int = MISSING
    length_penalty: float = MISSING
    bleu_reported: str = MISSING
    keep_checkpoints: bool = MISSING
    split: SplitSettings = field(default_factory=SplitSettings)
    supernet_checkpoint: str | None = MISSING
    init_from: str | None = MISSING
    max_len_a: float = MISSING
    max_len_b: int = MISSING
    score_checkpoint: str = choice("last", "best")
    val_check_interval_updates: int | None = MISSING


@dataclass
class FitSettings:
    model: str = MISSING
    cv_folds: int = MISSING
    models: Any = registry("llmpp.hardware.predictor:MODELS")


@dataclass
class LatencySettings:
    n_archs: int = MISSING
    sample_seed: int = MISSING
    test_fraction: float = MISSING
    chunk: int = MISSING
    retest: int = MISSING
    progress: bool = MISSING
    measure: Any = signature("llmpp.hardware.measure.MeasureConfig", runtime=("seed",))
    fit: FitSettings = field(default_factory=FitSettings)


@dataclass
class LabelSettings:
    predictor: Any = group()
    pool: str = MISSING
    pool_seeds: list[int] = MISSING
    demo_seeds: list[int] = MISSING
    n_archs: int = MISSING
    sample_seed: int = MISSING
    limit: int | None = MISSING
    chunk: int = MISSING


@dataclass
class TeacherSettings:
    predictor: Any = group()
    pool: str = MISSING
    n_archs: int = MISSING
    demo_seeds: list[int] = MISSING
    pool_seeds: list[int] = MISSING


@dataclass
class DistillSettings:
    labels: str | None = MISSING
    teacher: TeacherSettings = field(default_factory=TeacherSettings)
    regressor: Any = signature("llmpp.distill.train.TrainConfig", runtime=("seed",),
                               extra={"features": str, "label_seed": int | None})


@dataclass
class InitSettings:
    """Where a search's first population comes from (``random`` | ``llm``)."""

    kind: str = choice("random", "llm")
    gflops: float | None = MISSING
    count: int = MISSING
    max_rounds: int = MISSING
    demo_seed: int = MISSING


@dataclass
class TrackingSettings:
    tags: list[str] = MISSING
    table_rows: int | None = MISSING
    progress: bool = MISSING


@dataclass
class SearchSettings:
    """The search step's own settings, in the ``search`` node beside the algorithm's keys
    (``search.iterations``): the predictors it ranks with and their checkpoints, the
    first population, tracking. The constraint and hardware are the stage's slots."""

    predictors: Any = group()
    supernet_checkpoint: str | None = MISSING
    distill_checkpoint: str | None = MISSING
    init: InitSettings = field(default_factory=InitSettings)
    tracking: TrackingSettings = field(default_factory=TrackingSettings)


# ---- the primary configs (conf/<name>.yaml) ----------------------------------------------
@dataclass
class ResumeSlot:
    """``resume=<an earlier run dir>``: only the stages that honour it offer the slot."""

    resume: str | None = MISSING


@dataclass
class GoldSlots:
    """The gold data and the LLM stages that read it."""

    benchmark: Any = group()
    llm: Any = group()
    prompt: Any = group()


@dataclass
class TrainingSlots:
    model: Any = group()
    data: Any = group()


@dataclass
class SearchSlots:
    """A stage that searches: the algorithm with the search's settings, the constraint,
    the hardware target."""

    search: Any = step_group("SearchSettings")
    constraint: Any = group()
    hardware: Any = group()


@dataclass
class SupernetConfig(SearchSlots, SupernetSettings, TrainingSlots, SharedConfig, ResumeSlot):
    pass


@dataclass
class RetrainConfig(RetrainSettings, TrainingSlots, SharedConfig, ResumeSlot):
    pass


@dataclass
class LatencyConfig(LatencySettings, SharedConfig, ResumeSlot):
    hardware: Any = group()


@dataclass
class LabelConfig(LabelSettings, GoldSlots, SharedConfig, ResumeSlot):
    pass


@dataclass
class DistillConfig(DistillSettings, SharedConfig):
    benchmark: Any = group()
    # A teacher predictor=supernet reads ``${supernet_checkpoint}`` (set by its preset).
    supernet_checkpoint: str | None = MISSING


@dataclass
class SearchConfig(SearchSlots, GoldSlots, SharedConfig, ResumeSlot):
    pass


@dataclass
class BenchmarkConfig(GoldSlots, SharedConfig):
    predictor: Any = group()
    plots: bool = MISSING
    supernet_checkpoint: str | None = MISSING


@dataclass
class DescribeConfig(SharedConfig):
    arch: Any = MISSING
    hardware: Any = group()


@dataclass
class ReportConfig(SharedConfig):
    dirs: list[str] = MISSING
    out: str | None = MISSING
    plots: bool = MISSING


@dataclass
class BuildSettings:
    workers: int | None = MISSING
    chunk_pairs: int = MISSING


@dataclass
class DataConfig(SharedConfig, ResumeSlot):
    build: BuildSettings = field(default_factory=BuildSettings)


@dataclass
class RunSettings:
    artifacts: str = MISSING


@dataclass
class RunConfig(SearchSlots, GoldSlots, TrainingSlots, SharedConfig):
    """``llmpp run``: the shared slots at the root and one block per step holding its
    stage's settings (the search's in ``search``, beside the algorithm's keys)."""

    run: RunSettings = field(default_factory=RunSettings)
    supernet: SupernetSettings = field(default_factory=SupernetSettings)
    latency: LatencySettings = field(default_factory=LatencySettings)
    gold: RetrainSettings = field(default_factory=RetrainSettings)
    label: LabelSettings = field(default_factory=LabelSettings)
    distill: DistillSettings = field(default_factory=DistillSettings)
    retrain: RetrainSettings = field(default_factory=RetrainSettings)


# The root schema of each primary config, stored as ``schema/<config name>``.
ROOTS: dict[str, type] = {
    "benchmark": BenchmarkConfig,
    "data_stage": DataConfig,
    "describe": DescribeConfig,
    "distill": DistillConfig,
    "label": LabelConfig,
    "latency": LatencyConfig,
    "report": ReportConfig,
    "retrain": RetrainConfig,
    "run": RunConfig,
    "search": SearchConfig,
    "supernet": SupernetConfig,
}


def register() -> None:
    """Store every root schema in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for name, node in ROOTS.items():
        store.store(group="schema", name=name, node=node)
