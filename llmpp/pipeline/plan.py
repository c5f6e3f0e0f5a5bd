"""The configs of ``llmpp run``'s steps and the contracts between them.

The steps themselves (order, stage, inputs) are declared in ``llmpp.registry``.
A step runs one stage on the step's config: the run's shared choices that the stage
uses, the step's own block of the run config (``conf/steps/<stage>.yaml`` under the
step's name, e.g. ``supernet:``, ``gold:``), and the outputs of earlier steps it
reads. Nothing here re-parses override strings: the run config already holds every
step's complete settings, so the command line reaches any step key directly.

An input names ``<earlier step>.<result field>[.<key>...]``: the field must be one the
earlier stage's result type declares (checked for every step before the first runs),
and its value must be there when the step starts; either failing ends the run with
one line naming the step, the input and the result key, never a silent skip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from llmpp.errors import ConfigError
from llmpp.registry import Step, stage, steps


class StepContractError(ConfigError):
    """A step's declared input is not (or no longer) provided by the earlier result."""

# Keys that identify a step's run rather than its result: kept out of the content hash.
RUN_ONLY = ("logger",)


def uses_authors_gold(run_cfg: DictConfig) -> bool:
    """WMT tasks take their demonstrations from the authors' 30 architectures."""
    return bool(run_cfg.task.get("gold_name"))


def lookup(results: Mapping[str, Mapping[str, Any]], dotted: str) -> Any:
    """``<step>.<key>[.<key>...]`` in the finished steps' results; None when absent."""
    value: Any = results
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def check_contracts(plan: Iterable[Step] | None = None) -> None:
    """Every input of every step reads a field its source stage's result declares.

    Run before the first step, so a renamed result field ends the run at once (not
    after hours of training, and never by a silent skip).
    """
    seen: dict[str, Step] = {}
    for step in steps() if plan is None else plan:
        for key, source in step.inputs.items():
            origin, _, rest = source.partition(".")
            field_name = rest.split(".", 1)[0]
            earlier = seen.get(origin)
            if earlier is None:
                raise StepContractError(
                    f"step {step.name}: input {key} reads {source}, but no earlier step is "
                    f"named {origin}; fix the step's inputs in llmpp/registry.py")
            result_type = stage(earlier.stage).result
            declared = result_type.declared() if result_type is not None else ()
            if field_name not in declared:
                what = result_type.__name__ if result_type is not None else "no result type"
                raise StepContractError(
                    f"step {step.name}: input {key} reads {source}, but the {origin} step's "
                    f"result ({what}) declares no field {field_name!r} (declared: "
                    f"{', '.join(declared) or 'none'}); rename the input or the field")
        seen[step.name] = step


def step_input(results: Mapping[str, Mapping[str, Any]], step: Step, key: str) -> Any:
    """The value of one declared input; a missing one is a ``StepContractError``."""
    source = step.inputs[key]
    value = lookup(results, source)
    if value is None:
        origin = source.split(".", 1)[0]
        raise StepContractError(
            f"step {step.name}: input {key} needs {source}, which the {origin} step's result "
            f"lacks ({results[origin].get('dir', 'its result.json')}); delete that step's "
            "dir to recompute it, or fix the input in llmpp/registry.py")
    return value


def step_config(run_cfg: DictConfig, step: Step, results: Mapping[str, Any]) -> DictConfig:
    """The config the step's stage runs on (inputs from ``results`` of earlier steps)."""
    own = run_cfg.get(step.block) if step.block else None
    if step.block and own is None:
        raise ConfigError(f"the run config has no {step.block}: block; restore conf/run.yaml")
    # Copied unresolved: interpolations (``${seed}``, ``${..trainer.max_steps}``) are
    # resolved against the step's own config, where the same keys sit at the same places.
    raw: dict[str, Any] = {}
    if own is not None:
        block = OmegaConf.to_container(own, resolve=False)
        raw.update({step.block: block} if step.nested else block)
    whole = OmegaConf.to_container(run_cfg, resolve=False)
    raw.update({key: whole[key] for key in step.shared if key in whole})
    if stage(step.stage).resume:
        raw["resume"] = None  # a killed step resumes in its store dir, never elsewhere
    cfg = OmegaConf.create(raw)
    with open_dict(cfg):
        for dotted, source in step.inputs.items():
            if source.split(".", 1)[0] not in results:
                continue  # its step did not run in this pipeline (e.g. gold on WMT tasks)
            OmegaConf.update(cfg, dotted, step_input(results, step, dotted), force_add=True)
    return cfg


def content_config(cfg: DictConfig) -> DictConfig:
    """What a step's output depends on: its config without run-only keys (the logger)."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    return OmegaConf.create({k: v for k, v in plain.items() if k not in RUN_ONLY})
