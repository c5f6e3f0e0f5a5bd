"""Every stage and every step of ``llmpp run``, declared once.

The CLI's stage list and usage, the README's stage table, ``llmpp run``'s steps and
the check of ``conf/run.yaml``'s step blocks all derive from the two lists below (the
model is torchtune's recipe registry: small frozen records, nothing else lists them).
Adding a stage is its module (``run(cfg, out_dir) -> result`` and a thin
``@hydra.main``), its primary config, and one ``StageSpec``; adding a pipeline step is
one ``Step`` naming its stage, the run config's block holding its settings and the
earlier results it takes.

Stage modules are named as import paths and loaded only when a stage runs: listing
the stages (``llmpp --help``) imports neither torch nor Lightning.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

from omegaconf import DictConfig

from llmpp.results import (
    BenchmarkResult,
    DataResult,
    DescribeResult,
    DistillResult,
    LabelResult,
    LatencyResult,
    ReportResult,
    RetrainResult,
    RunResult,
    SearchResult,
    StageResult,
    SupernetResult,
)

StageRun = Callable[[DictConfig, Path], Any]


@dataclass(frozen=True)
class StageSpec:
    """One ``llmpp <stage>``.

    Args:
        name: the command (``llmpp <name>``).
        help: one line for ``llmpp --help`` and the README's table.
        output: the main output in the run dir (the README's table).
        module: the module holding ``main`` (its Hydra app) and ``run``.
        config: its primary config (``conf/<config>.yaml``); default: the name.
        run: the name, in ``module``, of ``run(cfg, out_dir) -> result`` (None: the
            stage has no such function and cannot be a pipeline step).
        result: the result type ``run`` returns (its declared fields are what steps read).
        schema: ``package.module:Class`` of the dataclass holding the stage's own
            settings (None until the stage has one).
        resume: the stage honours ``resume=<run dir>`` (llmpp.stages.resume).
        conf_dir: where its primary config lives (None: the project's ``conf/``).
    """

    name: str
    help: str
    output: str
    module: str = ""
    config: str = ""
    run: str | None = None
    result: type[StageResult] | None = None
    schema: str | None = None
    resume: bool = False
    conf_dir: str | None = None

    def __post_init__(self) -> None:
        if not self.module:
            object.__setattr__(self, "module", f"llmpp.stages.{self.name}")
        if not self.config:
            object.__setattr__(self, "config", self.name)

    def load(self) -> ModuleType:
        """The stage's module (imports its dependencies)."""
        return importlib.import_module(self.module)

    def runner(self) -> StageRun:
        """``run(cfg, out_dir) -> result``."""
        if self.run is None:
            raise LookupError(f"stage {self.name} declares no run function")
        return getattr(self.load(), self.run)


@dataclass(frozen=True)
class Step:
    """One step of ``llmpp run``.

    Args:
        name: the step's name: its artifact folder, and its block in the run config.
        stage: the stage that runs it (a registered ``StageSpec`` with ``run``).
        shared: root keys of the run config the step's stage reads.
        inputs: step-config key -> ``<earlier step>.<result field>[.<key>...]``; the field
            must be declared by the earlier stage's result type.
        block: the run-config block holding the step's own settings (None: none; the
            run's ``conf/run.yaml`` places ``steps/<stage>.yaml`` there).
        nested: the block keeps its name in the step's config instead of being its root
            (the search's settings share the ``search`` node with the algorithm's keys,
            in ``llmpp search`` as in ``llmpp run``).
        needs_own_gold: run only for tasks without the authors' gold data.
        skip_unless: an input source whose absence skips the step instead of failing it
            (the retrain step when the search found no architecture).
    """

    name: str
    stage: str
    shared: tuple[str, ...]
    inputs: Mapping[str, str] = field(default_factory=dict)
    block: str | None = None
    nested: bool = False
    needs_own_gold: bool = False
    skip_unless: str | None = None


_STAGES: dict[str, StageSpec] = {}
_STEPS: list[Step] = []


def register(spec: StageSpec) -> StageSpec:
    """Add a stage (a later registration of the same name replaces it)."""
    _STAGES[spec.name] = spec
    return spec


def register_step(step: Step, *, after: str | None = None) -> Step:
    """Add a step to ``llmpp run``: last, or right after the step named ``after``."""
    if step.stage not in _STAGES:
        raise KeyError(f"step {step.name}: no stage {step.stage!r} is registered")
    names = [s.name for s in _STEPS]
    if step.name in names:
        _STEPS.pop(names.index(step.name))
        names.remove(step.name)
    _STEPS.insert(names.index(after) + 1 if after else len(_STEPS), step)
    return step


def unregister(name: str) -> None:
    """Remove a stage and the steps that run it (tests register toy stages)."""
    _STAGES.pop(name, None)
    _STEPS[:] = [s for s in _STEPS if s.stage != name and s.name != name]


def stages() -> Mapping[str, StageSpec]:
    """Every stage by name, in the order of the CLI's usage and the README's table."""
    return MappingProxyType(_STAGES)


def stage(name: str) -> StageSpec:
    return _STAGES[name]


def steps() -> tuple[Step, ...]:
    """``llmpp run``'s steps in order."""
    return tuple(_STEPS)


def run_blocks() -> dict[str, str]:
    """``llmpp run``'s step blocks -> the stage whose settings each holds."""
    return {s.block: s.stage for s in _STEPS if s.block}


def stage_table() -> str:
    """The README's stage table (a test keeps the README equal to it)."""
    rows = ["| stage | does | main output in the run dir |", "|---|---|---|"]
    rows += [f"| `{s.name}` | {s.help} | {s.output} |" for s in _STAGES.values()]
    return "\n".join(rows)


# ---- the stages -------------------------------------------------------------------------
SCHEMA = "llmpp.config_schema:"  # where the settings' dataclasses live
for _spec in (
    StageSpec("describe", "validate an architecture and print its efficiency metrics",
              "JSON on stdout", run="run_describe", result=DescribeResult,
              schema=f"{SCHEMA}DescribeConfig"),
    StageSpec("benchmark", "evaluate a predictor on the gold benchmark (paper protocol)",
              "`benchmark.json`, table, scatter PNGs", run="run_benchmark",
              result=BenchmarkResult, schema=f"{SCHEMA}BenchmarkConfig"),
    StageSpec("label", "LLM-PP predictions for an architecture pool (distillation data)",
              "`labels.jsonl`", run="run_label", result=LabelResult, resume=True,
              schema=f"{SCHEMA}LabelSettings"),
    StageSpec("distill", "train LLM-Distill-PP from labels", "`distill.ckpt`, `distill.json`",
              run="run_distill", result=DistillResult, schema=f"{SCHEMA}DistillSettings"),
    StageSpec("supernet", "train the weight-sharing SuperTransformer",
              "`checkpoints/last.ckpt`, `supernet.json`", run="run_supernet",
              result=SupernetResult, resume=True, schema=f"{SCHEMA}SupernetSettings"),
    StageSpec("latency", "measure latencies on a hardware target, fit its predictor",
              "`latency.csv`, `latency_predictor.pt`, `latency.json`", run="run_latency",
              result=LatencyResult, resume=True, schema=f"{SCHEMA}LatencySettings"),
    StageSpec("search", "HS-NAS (or evolution, random, Optuna) under a constraint",
              "`search.json`, best arch YAML, population", run="run_search",
              result=SearchResult, resume=True, schema=f"{SCHEMA}SearchSettings"),
    StageSpec("retrain", "train architectures from scratch, evaluate BLEU; build gold sets",
              "`retrain.json`, `gold/`", run="run_retrain", result=RetrainResult, resume=True,
              schema=f"{SCHEMA}RetrainSettings"),
    StageSpec("run", "the main job: the whole pipeline, reusing finished stages",
              "`summary.json` + summary table", run="run_pipeline", result=RunResult,
              schema=f"{SCHEMA}RunConfig"),
    StageSpec("data", "prepare a task's binarized corpus ahead of training, print its "
              "statistics", "`data.json`", config="data_stage", run="run_data", result=DataResult,
              resume=True, schema=f"{SCHEMA}DataConfig"),
    StageSpec("report", "one comparison table and plot of finished runs or sweeps "
              "(`llmpp report <dirs...>`)", "`report.md`, `report.csv`, `report_*.png`",
              run="run_report", result=ReportResult, schema=f"{SCHEMA}ReportConfig"),
):
    register(_spec)

# ---- the steps of `llmpp run` ------------------------------------------------------------
BASE = ("task", "space", "seed", "logger")
TRAINING = (*BASE, "model", "data")

for _step in (
    Step("supernet", "supernet", TRAINING, block="supernet"),
    Step("latency", "latency", (*BASE, "hardware"), block="latency"),
    Step("gold", "retrain", TRAINING, block="gold", needs_own_gold=True,
         inputs={"supernet_checkpoint": "supernet.checkpoint"}),
    Step("label", "label", (*BASE, "benchmark", "llm", "prompt"), block="label",
         inputs={"benchmark.gold": "gold.gold_dir"}),
    Step("distill", "distill", (*BASE, "benchmark"), block="distill",
         inputs={"labels": "label.labels"}),
    Step("search", "search", (*BASE, "constraint", "hardware", "llm", "benchmark"),
         block="search", nested=True,
         inputs={"search.supernet_checkpoint": "supernet.checkpoint",
                 "search.distill_checkpoint": "distill.checkpoint",
                 "hardware.latency_predictor": "latency.artifact"}),
    Step("retrain", "retrain", TRAINING, block="retrain", inputs={"arch": "search.best.arch"},
         skip_unless="search.best.arch"),
):
    register_step(_step)


# ---- presets -----------------------------------------------------------------------------
PRESET_HEADER = re.compile(r"^# stage:\s*(?P<stages>[\w, ]+?)\s*$", re.MULTILINE)


def preset_stages(path: Path) -> tuple[str, ...] | None:
    """The stages a preset (``conf/experiment/<name>.yaml``) is for, from its
    ``# stage: <name>[, <name>...]`` header line; None when it has none."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    found = PRESET_HEADER.search(text)
    if found is None:
        return None
    return tuple(s.strip() for s in found.group("stages").split(",") if s.strip())
