"""Content-addressed stage outputs: a stage reruns only when its inputs change.

Each stage's output lives in ``<root>/<stage>/<key>/`` where the key hashes the
stage's full resolved config, including the paths of the earlier outputs it reads
(which carry their own keys), so a change anywhere upstream invalidates exactly the
stages downstream of it. ``result.json`` is written last: its presence means done;
a directory without it holds a killed stage's partial state, which the stage resumes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from llmpp.errors import CorruptFileError
from llmpp.utils.io import write_json

log = logging.getLogger(__name__)
RESULT = "result.json"


def config_key(cfg: DictConfig) -> str:
    """A short stable hash of a resolved config (key order does not matter)."""
    payload = json.dumps(OmegaConf.to_container(cfg, resolve=True), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


class StageStore:
    """Runs stage functions at most once per distinct config.

    Args:
        root: directory holding every stage's outputs (shared across runs).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def dir_for(self, stage: str, cfg: DictConfig) -> Path:
        return self.root / stage / config_key(cfg)

    def cached(self, stage: str, cfg: DictConfig) -> dict[str, Any] | None:
        path = self.dir_for(stage, cfg) / RESULT
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CorruptFileError(
                f"{path} is corrupt ({exc}); delete {path.parent} to recompute the {stage} step"
            ) from None

    def ensure(
        self, stage: str, cfg: DictConfig, fn: Callable[[DictConfig, Path], dict[str, Any]]
    ) -> tuple[dict[str, Any], bool]:
        """``fn(cfg, dir)``'s result, computed now or reused; returns (result, reused)."""
        out_dir = self.dir_for(stage, cfg)
        done = self.cached(stage, cfg)
        if done is not None:
            log.info("%s: reusing %s", stage, out_dir)
            return done, True
        out_dir.mkdir(parents=True, exist_ok=True)
        with open(out_dir / "config.yaml", "w") as handle:  # what produced this output
            handle.write(OmegaConf.to_yaml(cfg, resolve=True))
        started = time.perf_counter()
        result = fn(cfg, out_dir)
        result = {**result, "stage_seconds": time.perf_counter() - started, "dir": str(out_dir)}
        write_json(out_dir / RESULT, result)
        return result, False
