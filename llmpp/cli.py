"""``llmpp <stage> [hydra overrides]``: dispatch to the Hydra app of a stage.

Overrides are composed once before the app starts, so a typo in an override or an
unknown config option ends in one line and exit code 2 instead of a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

# OpenMP threads that busy-wait turn a shared or oversubscribed CPU (two training
# processes, a local LLM server beside training) into 5-15x slower steps; passive
# waiting costs little when the machine is idle. Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

import llmpp.config  # noqa: F401  (registers the config resolvers before composing)
from llmpp.config_check import check_config
from llmpp.errors import ConfigError
from llmpp.utils.paths import conf_dir

STAGES = {
    "describe": "validate an architecture and print its efficiency metrics",
    "benchmark": "evaluate a predictor on the gold benchmark (paper protocol)",
    "label": "LLM-PP predictions for an architecture pool (distillation data)",
    "distill": "train LLM-Distill-PP from labels",
    "supernet": "train the weight-sharing SuperTransformer",
    "latency": "measure a latency dataset on a hardware target, fit its predictor",
    "search": "HS-NAS (or another algorithm) under a constraint",
    "retrain": "train one architecture from scratch, evaluate BLEU",
    "run": "the main job: the whole pipeline, reusing finished stages",
    "report": "compare finished runs: one Markdown/CSV table and plot (llmpp report <dirs...>)",
    "data": "build a task's binarized corpus ahead of training, print its statistics",
}
# A stage whose primary config is not named after it (conf/data/ is a config group).
CONFIG_NAMES = {"data": "data_stage"}


def usage() -> str:
    lines = ["usage: llmpp <stage> [hydra overrides]", "", "stages:"]
    lines += [f"  {name:<10} {text}" for name, text in STAGES.items()]
    lines += ["", "Show a stage's config: llmpp <stage> --cfg job"]
    return "\n".join(lines)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def check_overrides(stage: str, overrides: list[str]) -> str | None:
    """Compose the stage's config with ``overrides`` and check its keys and types.

    Returns the error text, or None if fine.
    """
    config_name = CONFIG_NAMES.get(stage, stage)
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir()), job_name=stage):
            cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
        # Wrong types and unknown keys (also from presets) end here, before any work.
        check_config(cfg, config_name)
    except (HydraException, OmegaConfBaseException, ValueError, ConfigError) as exc:
        return _one_line(exc)
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    stage, overrides = argv[0], argv[1:]
    if stage not in STAGES:
        print(
            f"llmpp: error: unknown stage {stage!r}; choose one of: {', '.join(STAGES)}",
            file=sys.stderr,
        )
        return 2
    if stage == "report":
        # `llmpp report <dir> <dir>`: positional run/sweep dirs become one `dirs=[...]` override.
        from llmpp.report.cli_args import positional_dirs_to_overrides

        overrides = positional_dirs_to_overrides(overrides)
    module_name = f"llmpp.stages.{stage}"
    if importlib.util.find_spec(module_name) is None:
        print(
            f"llmpp: error: stage {stage!r} is not available in this version of llmpp",
            file=sys.stderr,
        )
        return 2
    # Flags (--cfg, --help, -m) are Hydra's to interpret; plain overrides are checked here.
    if not any(arg.startswith("-") for arg in overrides):
        problem = check_overrides(stage, overrides)
        if problem:
            print(
                f"llmpp: error: {problem} "
                f"(check the override; `llmpp {stage} --help` lists options)",
                file=sys.stderr,
            )
            return 2
    module = importlib.import_module(module_name)
    # Hydra parses sys.argv[1:]; Lightning's DDP launcher re-runs sys.argv[0] (or
    # `python -m <__main__'s module>`) once per extra process, so both must name the
    # stage module itself, which runs its app when executed.
    sys.argv = [str(module.__file__), *overrides]
    main_module = sys.modules.get("__main__")
    if main_module is not None and getattr(main_module, "__spec__", None) is not None:
        main_module.__spec__ = module.__spec__
    module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
