"""``llmpp describe arch=<yaml>``: validate an architecture, print its metrics as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import hydra
import yaml
from omegaconf import DictConfig

from llmpp.config import CONF_DIR, build
from llmpp.errors import InvalidArchitectureError, UserError
from llmpp.metrics.efficiency import efficiency
from llmpp.results import DescribeResult
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace
from llmpp.stages.common import guarded
from llmpp.stages.searching import latency_predictor
from llmpp.task import TaskSpec


def load_arch_file(path: str | Path, space: SearchSpace) -> Architecture:
    """Read a HAT subtransformer YAML file and validate it against ``space``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"architecture file {path} does not exist; pass arch=<path to a HAT YAML>")
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InvalidArchitectureError(
            f"{path} is not valid YAML ({' '.join(str(exc).split())})"
        ) from None
    try:
        return space.from_hat(config)
    except InvalidArchitectureError as exc:
        raise InvalidArchitectureError(f"{path}: {exc}") from None


def describe(cfg: DictConfig) -> DescribeResult:
    """What ``llmpp describe`` prints as JSON."""
    space = build(cfg.space, "space")
    task = TaskSpec.from_config(cfg.task)
    arch = load_arch_file(cfg.arch, space)
    metrics = efficiency(arch, task.vocab_size, space.qkv_dim)
    payload = {
        "arch": arch.to_hat(),
        "arch_key": arch.key(),
        "task": task.name,
        "vocab_size": task.vocab_size,
        "space": space.name,
        "space_hash": space.hash(),
        "metrics": metrics.as_dict(),
    }
    latency = latency_predictor(cfg, space, task)  # hardware.latency_predictor=<artifact>
    if latency is not None:
        payload["latency_ms"] = float(latency.predict([arch])[0])
        payload["hardware"] = {"name": str(cfg.hardware.name), **latency.describe()}
    return DescribeResult.from_json(payload)


def run_describe(cfg: DictConfig, out_dir: Path) -> DescribeResult:
    """The stage's ``run``: ``describe`` (it prints and writes nothing, ``out_dir`` unused)."""
    return describe(cfg)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="describe")
@guarded
def main(cfg: DictConfig) -> None:
    print(json.dumps(describe(cfg).to_json(), indent=2))


if __name__ == "__main__":  # `python -m llmpp.stages.<stage>`; DDP re-launches this way
    main()
