"""``llmpp <stage> [hydra overrides]``: dispatch to the Hydra app of a stage.

Overrides are composed once before the app starts, so a typo in an override or an
unknown config option ends in one line and exit code 2 instead of a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

# OpenMP threads that busy-wait turn a shared or oversubscribed CPU (two training
# processes, a local LLM server beside training) into 5-15x slower steps; passive
# waiting costs little when the machine is idle. Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

import llmpp.config  # noqa: F401  (registers the config resolvers before composing)
from llmpp.config_check import check_config
from llmpp.config_errors import describe as describe_config_error
from llmpp.errors import ConfigError
from llmpp.registry import StageSpec, preset_stages, stages
from llmpp.utils.paths import conf_dir


def usage() -> str:
    lines = ["usage: llmpp <stage> [hydra overrides]", "", "stages:"]
    lines += [f"  {name:<10} {spec.help}" for name, spec in stages().items()]
    lines += ["", "Show a stage's config: llmpp <stage> --cfg job"]
    return "\n".join(lines)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _config_dir(spec: StageSpec) -> Path:
    return Path(spec.conf_dir) if spec.conf_dir else conf_dir()


def preset_problem(spec: StageSpec, overrides: list[str]) -> str | None:
    """A preset (``experiment=<name>``) made for another stage, said before composing.

    A preset pins keys of its own stage's config; composed into another stage's config
    it fails deep inside Hydra ("Could not override 'prompt'"), so its ``# stage:``
    header is read first. A preset without a header, or not found, is left to Hydra.
    """
    for arg in overrides:
        key, sep, value = arg.partition("=")
        if not sep or key.lstrip("+~") != "experiment":
            continue
        for name in value.strip("[]").split(","):
            name = name.strip()
            if not name or name == "null":
                continue
            made_for = preset_stages(_config_dir(spec) / "experiment" / f"{name}.yaml")
            if made_for and spec.name not in made_for:
                meant = " or ".join(f"`llmpp {s}`" for s in made_for)
                return (f"preset experiment={name} is for {meant}, not `llmpp {spec.name}`: "
                        f"run `llmpp {made_for[0]} experiment={name}`")
    return None


def check_overrides(spec: StageSpec, overrides: list[str]) -> str | None:
    """Compose the stage's config with ``overrides`` and check its keys and types.

    Returns the error text, or None if fine.
    """
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(_config_dir(spec)),
                                   job_name=spec.name):
            cfg = compose(config_name=spec.config, overrides=overrides, return_hydra_config=True)
        # Wrong types and unknown keys (also from presets) end here, before any work.
        check_config(cfg, spec.config)
    except (HydraException, OmegaConfBaseException, ValueError, ConfigError) as exc:
        return describe_config_error(exc)
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    stage, overrides = argv[0], argv[1:]
    spec = stages().get(stage)
    if spec is None:
        print(
            f"llmpp: error: unknown stage {stage!r}; choose one of: {', '.join(stages())}",
            file=sys.stderr,
        )
        return 2
    if stage == "report":
        # `llmpp report <dir> <dir>`: positional run/sweep dirs become one `dirs=[...]` override.
        from llmpp.report.cli_args import positional_dirs_to_overrides

        overrides = positional_dirs_to_overrides(overrides)
    module_name = spec.module
    if importlib.util.find_spec(module_name) is None:
        print(
            f"llmpp: error: stage {stage!r} is not available in this version of llmpp",
            file=sys.stderr,
        )
        return 2
    problem = preset_problem(spec, overrides)  # also under --cfg job and -m
    if problem:
        print(f"llmpp: error: {problem}", file=sys.stderr)
        return 2
    # Flags (--cfg, --help, -m) are Hydra's to interpret; plain overrides are checked here.
    if not any(arg.startswith("-") for arg in overrides):
        problem = check_overrides(spec, overrides)
        if problem:
            print(
                f"llmpp: error: {problem} "
                f"(check the override; `llmpp {stage} --help` lists options)",
                file=sys.stderr,
            )
            return 2
    module = spec.load()
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
