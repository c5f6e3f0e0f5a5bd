"""Content-addressed stage outputs: a stage reruns only when its inputs change.

Each stage's output lives in ``<root>/<stage>/<key>/`` where the key hashes the
stage's full resolved config, including the paths of the earlier outputs it reads
(which carry their own keys), so a change anywhere upstream invalidates exactly the
stages downstream of it. ``result.json`` is written last: its presence means done;
a directory without it holds a killed stage's partial state, which the stage resumes.

Runs that share the store (a sweep's jobs) take an exclusive ``flock`` on
``<root>/<stage>/<key>.lock`` while building a step: a second run needing the same
step waits, then reuses the result. The OS drops the lock when its holder dies, so
a killed builder's step is taken over (and resumed) by the next run that needs it.
Linux ``flock`` also works on NFS (as a POSIX lock) for jobs on several nodes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from llmpp.errors import CorruptFileError
from llmpp.results import StageResult
from llmpp.utils.io import write_json
from llmpp.utils.lock import exclusive

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

    def cached(
        self, stage: str, cfg: DictConfig, result_type: type[StageResult] | None = None
    ) -> Mapping[str, Any] | None:
        """The step's saved result (typed when ``result_type`` is given), or None."""
        path = self.dir_for(stage, cfg) / RESULT
        if not path.is_file():
            return None
        try:
            doc = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CorruptFileError(
                f"{path} is corrupt ({exc}); delete {path.parent} to recompute the {stage} step"
            ) from None
        return doc if result_type is None else result_type.from_json(doc, source=str(path))

    def ensure(
        self, stage: str, cfg: DictConfig, fn: Callable[[DictConfig, Path], Mapping[str, Any]],
        result_type: type[StageResult] | None = None,
    ) -> tuple[Mapping[str, Any], bool]:
        """``fn(cfg, dir)``'s result, computed now or reused; returns (result, reused).

        ``result.json`` holds the result's JSON document plus ``stage_seconds`` and
        ``dir``; with ``result_type`` the result comes back as that type (a saved one
        lacking a declared field is reported as corrupt). Built at most once at a time
        across processes: see :meth:`lock`.
        """
        out_dir = self.dir_for(stage, cfg)
        done = self.cached(stage, cfg, result_type)
        if done is not None:
            log.info("%s: reusing %s", stage, out_dir)
            return done, True
        with self.lock(stage, out_dir):
            # another run may have built it while we waited
            done = self.cached(stage, cfg, result_type)
            if done is not None:
                log.info("%s: reusing %s (built by another run)", stage, out_dir)
                return done, True
            out_dir.mkdir(parents=True, exist_ok=True)
            with open(out_dir / "config.yaml", "w") as handle:  # what produced this output
                handle.write(OmegaConf.to_yaml(cfg, resolve=True))
            started = time.perf_counter()
            produced = fn(cfg, out_dir)
            doc = produced.to_json() if isinstance(produced, StageResult) else dict(produced)
            doc |= {"stage_seconds": time.perf_counter() - started, "dir": str(out_dir)}
            write_json(out_dir / RESULT, doc)
        return (doc if result_type is None else result_type.from_json(doc)), False

    @contextmanager
    def lock(self, stage: str, out_dir: Path) -> Iterator[None]:
        """Hold the step's build lock; waits (saying so in the log) while another run builds.

        The lock file sits beside the step's directory (not in it), so deleting a step's
        directory to recompute it never races with a lock holder.
        """
        with exclusive(out_dir.with_name(f"{out_dir.name}.lock"), what=f"{stage} in {out_dir}"):
            yield
