"""The package's layers: which layer each part of ``llmpp`` sits in, and its job.

A module imports only from its own layer or below, never from a part above, and no
two parts import each other. ``tests/foundation/test_layers.py`` walks every import of
every module (lazy and ``TYPE_CHECKING`` imports included) against this table, and
the "Layers" section of ``docs/ARCHITECTURE.md`` is :func:`markdown_table`'s output,
checked by the same test. A new package or top-level module gets a row here first.
"""

from __future__ import annotations

from dataclasses import dataclass

PACKAGE = "llmpp"


@dataclass(frozen=True)
class Part:
    """A package (``llmpp.search``) or a top-level module (``llmpp.task``) and its layer."""

    name: str
    layer: int
    job: str

    @property
    def is_package(self) -> bool:
        return self.name not in MODULES

    @property
    def path(self) -> str:
        """The part's path in the repository, as the docs show it."""
        relative = self.name.replace(".", "/")
        return f"{relative}/" if self.is_package else f"{relative}.py"


# Top-level modules (files directly under llmpp/); every other part is a package.
MODULES = frozenset(
    {
        "llmpp.errors",
        "llmpp.config",
        "llmpp.config_schema",
        "llmpp.config_check",
        "llmpp.config_errors",
        "llmpp.layers",
        "llmpp.task",
        "llmpp.constraints",
        "llmpp.cli",
        "llmpp.registry",
        "llmpp.results",
    }
)

PARTS: tuple[Part, ...] = (
    Part("llmpp", 1, "the package root (its version)"),
    Part("llmpp.errors", 1, "the error hierarchy (`UserError` → exit 2)"),
    Part("llmpp.utils", 1, "files and paths, atomic writes, the inter-process file lock, "
         "secrets scrubbing, progress lines"),
    Part("llmpp.config", 1, "compose / instantiate with one-line errors / saved configs"),
    Part("llmpp.config_schema", 1, "the config keys' types"),
    Part("llmpp.config_check", 1, "config checks before anything runs"),
    Part("llmpp.config_errors", 1, "a compose-time config error as one line naming the key"),
    Part("llmpp.layers", 1, "this table"),
    Part("llmpp.space", 2, "the search space: choices, encodings, validation, hashing "
         "(single source of truth)"),
    Part("llmpp.task", 2, "task descriptions"),
    Part("llmpp.data", 2, "corpora, binarisation and batching"),
    Part("llmpp.llm", 2, "LLM backends with cache, retries and cost"),
    Part("llmpp.metrics", 2, "efficiency metrics and ranking agreement (MAE, Kendall tau, "
         "Spearman rho, precision@k)"),
    Part("llmpp.tracking", 2, "experiment loggers, a stage's W&B run (config, metrics, "
         "images), run names, training progress lines"),
    Part("llmpp.gold", 3, "the authors' gold data (records, pools, sources)"),
    Part("llmpp.models", 3, "the SuperTransformer (HAT's post-norm layers, or pre-norm "
         "with `model.normalize_before`) and its Mixture-of-Supernets kinds, "
         "decoding, HAT's predictor MLP"),
    Part("llmpp.prompts", 3, "LLM-PP prompts"),
    Part("llmpp.constraints", 3, "constraints on architectures (GFLOPs, parameters, latency)"),
    Part("llmpp.distill", 3, "Distill-PP's regressor: features, model, training, checkpoint"),
    Part("llmpp.training", 4, "the Lightning module, trainer and callback builders, BLEU, "
         "inheritance, gold sets from retraining"),
    Part("llmpp.hardware", 4, "latency measurement and latency predictors"),
    Part("llmpp.predictors", 4, "the `Predictor` contract and its implementations"),
    Part("llmpp.labels", 4, "teacher labels: the `labels.jsonl` format, pools, the "
         "demonstrations of a seed, any predictor as a teacher"),
    Part("llmpp.search", 5, "ask/tell algorithms, the runner, its memo, tracking and the "
         "Lightning `SearchCallback`"),
    Part("llmpp.evaluation", 5, "the paper's benchmark protocol and its report"),
    Part("llmpp.report", 5, "comparisons of finished runs"),
    Part("llmpp.testing", 6, "fakes (LLM servers), toys, contract suites — imported by "
         "tests, never by product code"),
    Part("llmpp.pipeline", 7, "the steps of `llmpp run` as data, their store and summary"),
    Part("llmpp.stages", 7, "one Hydra app per stage: compose → build objects → call the "
         "library → write outputs"),
    Part("llmpp.cli", 7, "the `llmpp` command"),
    Part("llmpp.registry", 7, "every stage and every step of `llmpp run`, declared once"),
    Part("llmpp.results", 7, "the typed results stages return (the steps' contracts)"),
)

BY_NAME = {part.name: part for part in PARTS}


def part_of(module: str) -> Part | None:
    """The part ``module`` belongs to (the longest matching name), or None if unlisted.

    The root ``llmpp`` matches only itself, so a new module directly under ``llmpp/``
    is unlisted until it gets its own row.
    """
    name = module
    while name and name != PACKAGE:
        if name in BY_NAME:
            return BY_NAME[name]
        name = name.rpartition(".")[0]
    return BY_NAME[PACKAGE] if module == PACKAGE else None


def markdown_table() -> str:
    """The "Layers" table of ``docs/ARCHITECTURE.md``: one row per layer, top layer first."""
    rows = ["| layer | parts | job |", "|---|---|---|"]
    for layer in sorted({part.layer for part in PARTS}, reverse=True):
        members = [part for part in PARTS if part.layer == layer and part.name != PACKAGE]
        names = ", ".join(f"`{part.path}`" for part in members)
        jobs = "; ".join(f"{part.name.removeprefix(PACKAGE + '.')}: {part.job}"
                         for part in members)
        rows.append(f"| {layer} | {names} | {jobs} |")
    return "\n".join(rows)
