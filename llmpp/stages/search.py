"""``llmpp search``: HS-NAS (or another algorithm) under a constraint.

Builds the search from ``conf/search/<name>.yaml``, the predictors it names from
``predictors.<name>``, runs it resumably in the run dir and writes ``search.json``,
the best architecture's HAT YAML, the final population (and the Pareto set of
multi-objective runs); everything is logged through ``logger=``.
``llmpp search resume=<run dir>`` continues a killed run in place.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from llmpp.errors import ConfigError
from llmpp.hardware.target import latency_from_config
from llmpp.search.session import SearchSession
from llmpp.space.search_space import SearchSpace
from llmpp.stages.common import CONF_DIR, build, guarded, load_saved_config, run_dir
from llmpp.task import TaskSpec
from llmpp.utils.io import atomic_open

log = logging.getLogger(__name__)
CONFIG_FILE = "search_config.yaml"


def _resume_config(cfg: DictConfig) -> tuple[DictConfig, Path]:
    """The saved config and run dir of the run to continue."""
    out_dir = Path(str(cfg.resume)).expanduser()
    saved = out_dir / CONFIG_FILE
    if not saved.is_file():
        raise ConfigError(f"resume={out_dir} is not a search run dir (no {CONFIG_FILE}); "
                          "pass the run dir of an earlier `llmpp search`")
    old = load_saved_config(saved)
    old.resume = str(out_dir)
    return old, out_dir


def run_search(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    """Run (or resume) the configured search in ``out_dir``; returns search.json's payload."""
    if cfg.get("resume"):
        cfg, out_dir = _resume_config(cfg)
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_open(out_dir / CONFIG_FILE) as handle:
            handle.write(OmegaConf.to_yaml(cfg, resolve=True))
    latency = None
    if cfg.get("constraint"):  # the hardware target's latency predictor, for constraint=latency
        space: SearchSpace = build(cfg.space, "space")
        latency = latency_from_config(cfg, space, TaskSpec.from_config(cfg.task))
    session = SearchSession.from_config(cfg, out_dir, latency=latency)
    try:
        return session.run()
    finally:
        session.close()


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="search")
@guarded
def main(cfg: DictConfig) -> None:
    payload = run_search(cfg, run_dir())
    best = payload["best"] or {}
    print(f"best score {best.get('score')} ({best.get('predictor')}), "
          f"{payload['wall_seconds']['total']:.1f} s; wrote {payload['run_dir']}/search.json")


if __name__ == "__main__":  # `python -m llmpp.stages.<stage>`; DDP re-launches this way
    main()
