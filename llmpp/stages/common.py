"""Plumbing every stage shares: turning user errors into one line, instantiation, run dirs."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from llmpp.errors import ConfigError, CorruptFileError, UserError
from llmpp.utils.paths import conf_dir

log = logging.getLogger(__name__)
T = TypeVar("T")
CONF_DIR = str(conf_dir())


def fail(message: str, code: int = 2) -> None:
    """Print one line on stderr and exit (2 = the user can fix it)."""
    # Library messages (YAML, torch) can span lines; the error is always one line.
    print(f"llmpp: error: {' '.join(str(message).split())}", file=sys.stderr, flush=True)
    sys.exit(code)


def guarded(fn: Callable[[DictConfig], T]) -> Callable[[DictConfig], T]:
    """Wrap a Hydra task function: user errors exit 2 with one line, Ctrl-C exits 130."""

    def wrapper(cfg: DictConfig) -> T:
        try:
            return fn(cfg)
        except UserError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted; rerun the same command to resume", code=130)
        raise AssertionError("unreachable")

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def build(cfg: DictConfig, what: str, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` whose config mistakes surface as ``UserError``."""
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


def compose_stage(stage: str, overrides: list[str] | None = None) -> DictConfig:
    """A stage's composed config without starting a Hydra run (tests, scripts, `run`)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():  # inside a Hydra app: same config tree
        return compose(config_name=stage, overrides=overrides or [])
    with initialize_config_dir(version_base="1.3", config_dir=CONF_DIR, job_name=stage):
        return compose(config_name=stage, overrides=overrides or [])


def run_dir() -> Path:
    """The Hydra run dir of the current job."""
    return Path(HydraConfig.get().runtime.output_dir)
