"""Task descriptions read from ``conf/task/<name>.yaml``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from llmpp.errors import ConfigError
from llmpp.utils.paths import conf_dir

WMT_TASKS = ("wmt14_en_de", "wmt14_en_fr", "wmt19_en_de")


@dataclass(frozen=True)
class TaskSpec:
    """What every stage needs to know about a translation task."""

    name: str
    title: str
    source_lang: str
    target_lang: str
    vocab_size: int
    gold_name: str | None  # folder name in the authors' data (None: none)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | DictConfig) -> TaskSpec:
        if isinstance(cfg, DictConfig):
            cfg = OmegaConf.to_container(cfg, resolve=True)
        if cfg.get("members"):
            # task=all is a first-class mode of benchmark and label only (expand_tasks);
            # everywhere else it is a sweep, which ends in one comparison report.
            members = ",".join(cfg["members"])
            raise ConfigError(
                f"task={cfg.get('name', 'all')} names several tasks but this stage takes one; "
                f"pass task=<one of {members}> or sweep them: -m task={members}"
            )
        try:
            return cls(
                name=str(cfg["name"]),
                title=str(cfg["title"]),
                source_lang=str(cfg["source_lang"]),
                target_lang=str(cfg["target_lang"]),
                vocab_size=int(cfg["vocab_size"]),
                gold_name=cfg["gold_name"],
            )
        except KeyError as exc:
            raise ConfigError(f"task config is missing {exc.args[0]!r}") from None


def load_task_config(name: str) -> DictConfig:
    """The config of task ``name`` from ``conf/task/``."""
    path = conf_dir() / "task" / f"{name}.yaml"
    if not path.is_file():
        options = sorted(p.stem for p in (conf_dir() / "task").glob("*.yaml"))
        raise ConfigError(f"unknown task {name!r}; choose one of: {', '.join(options)}")
    return OmegaConf.load(path)


def expand_tasks(task_cfg: Mapping[str, Any] | DictConfig) -> list[DictConfig]:
    """``task=all`` -> the configs of its member tasks; any other task -> itself."""
    members = task_cfg.get("members")
    if members:
        return [load_task_config(str(member)) for member in members]
    return [task_cfg if isinstance(task_cfg, DictConfig) else OmegaConf.create(dict(task_cfg))]
