"""Config plumbing below every layer: compose, instantiate with one-line errors, saved configs.

Only the stages (and ``llmpp.cli``) see a stage's root config; everything below them
receives objects or its own sub-config. These helpers are what the stages, the
benchmarks and the launchers share to turn YAML into objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from llmpp.config_schema import register as register_schemas
from llmpp.errors import ConfigError, CorruptFileError, UserError
from llmpp.utils.paths import conf_dir

CONF_DIR = str(conf_dir())


def gradient_accumulation(total: int, devices: Any = 1, nodes: Any = 1) -> int:
    """Batches to accumulate so ``total`` device-batches make one update on any GPU count.

    HAT updates once per 8 GPUs x 16 accumulated batches (128 device-batches of 4096
    tokens); with ``devices`` x ``nodes`` devices the same effective batch needs
    ``total / (devices * nodes)``. ``auto`` or -1 devices count as one.
    """
    def count(value: Any) -> int:
        try:
            return max(1, int(value))
        except (TypeError, ValueError):
            return 1

    return max(1, int(total) // (count(devices) * count(nodes)))


def register_resolvers() -> None:
    """Config functions the YAML uses (``${llmpp.accumulation:128,${.devices},...}``)."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("llmpp.accumulation"):
        OmegaConf.register_new_resolver("llmpp.accumulation", gradient_accumulation)


register_resolvers()
# The structured configs the primary configs name (``- schema/<name>@_here_``).
register_schemas()


def build(cfg: Any, what: str, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` whose config mistakes surface as ``ConfigError``.

    Args:
        cfg: a config node with a ``_target_``.
        what: the config key, named in the error (``search``, ``logger``...).
        **kwargs: runtime objects passed to the target (a space, a constraint...).
    """
    try:
        return instantiate(cfg, **kwargs)
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, UserError):
            raise cause from None
        if isinstance(cause, TypeError):
            raise ConfigError(f"{what}: {cause}; check the keys of the {what} config") from None
        message = " ".join(str(exc).split())
        raise ConfigError(f"{what}: {message}") from None


def load_saved_config(path: Path) -> DictConfig:
    """A config a stage saved into its run dir (for ``resume=``); unreadable = corrupt."""
    import yaml
    from omegaconf import OmegaConf

    try:
        cfg = OmegaConf.load(path)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CorruptFileError(
            f"{path} is not a readable saved config ({exc}); restore it or start a new run"
        ) from None
    if not isinstance(cfg, DictConfig):
        raise CorruptFileError(f"{path} is not a saved config (not a mapping); start a new run")
    return cfg


def compose(
    config_name: str, overrides: list[str] | None = None, *, return_hydra_config: bool = False
) -> DictConfig:
    """A primary config (``conf/<name>.yaml``) composed without starting a Hydra run.

    Inside a running Hydra app the same config tree is used; elsewhere (tests,
    benchmarks, launchers) the project's ``conf/`` is loaded.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    kwargs = {"overrides": overrides or [], "return_hydra_config": return_hydra_config}
    if GlobalHydra.instance().is_initialized():
        return hydra_compose(config_name=config_name, **kwargs)
    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR, job_name=config_name):
        return hydra_compose(config_name=config_name, **kwargs)
