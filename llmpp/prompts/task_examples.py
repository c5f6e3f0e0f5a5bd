"""Source/target sentence pairs of a task for the prompt's task-examples component.

Examples are taken from data that is on disk or generated locally: the synthetic
task's generator, or a WMT task's ``data.data_dir`` text files. Nothing is
downloaded for a prompt; a task without local data gets no examples.
"""

from __future__ import annotations

import logging
from pathlib import Path

from llmpp.errors import UserError
from llmpp.task import load_task_config

log = logging.getLogger(__name__)


def task_example_pairs(task_name: str, count: int) -> list[tuple[str, str]]:
    """The first ``count`` validation pairs of ``task_name`` available offline, else []."""
    if count <= 0:
        return []
    try:
        data = load_task_config(task_name).get("data") or {}
    except UserError:
        return []
    kind = str(data.get("kind", ""))
    if kind == "synthetic":
        from llmpp.data.synthetic import generate_pairs

        # The valid split's seed as llmpp.data.synthetic derives it (offset 1).
        seed = int(data.get("seed", 0)) * 1000 + 1
        return list(
            generate_pairs(
                count,
                seed,
                min_len=int(data.get("min_len", 5)),
                max_len=int(data.get("max_len", 40)),
            )
        )
    data_dir = data.get("data_dir")
    if not data_dir:
        log.info("task %s has no local data; the prompt gets no task examples", task_name)
        return []
    return _read_local_pairs(Path(str(data_dir)).expanduser(), count, task_name)


def _read_local_pairs(root: Path, count: int, task_name: str) -> list[tuple[str, str]]:
    config = load_task_config(task_name)
    src, tgt = str(config.get("source_lang", "en")), str(config.get("target_lang", "de"))
    paths = [root / f"valid.{src}", root / f"valid.{tgt}"]
    if not all(path.is_file() for path in paths):
        return []
    with open(paths[0], encoding="utf-8") as fs, open(paths[1], encoding="utf-8") as ft:
        pairs = []
        for source, target in zip(fs, ft, strict=False):
            if len(pairs) == count:
                break
            if source.strip() and target.strip():
                pairs.append((source.strip(), target.strip()))
    return pairs
