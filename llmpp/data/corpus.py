"""A task's corpus: binarized, memory-mapped, built once per content and shared by all.

The first use streams the raw pairs through ``llmpp.data.build`` into
``<cache>/data/<task>/<fingerprint>/``; every later use — other DDP ranks,
DataLoader workers, sweep jobs — memory-maps the same files. Building holds an
exclusive file lock, works in a hidden sibling folder and renames it into place
when ``meta.json`` is written, so concurrent builders build once and a killed build
never looks finished. The fingerprint covers everything that changes the content.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from llmpp.data.binarized import BinarizedSplit
from llmpp.data.build import BOS, EOS, FORMAT_VERSION, PAD, UNK, build_into
from llmpp.errors import CorruptFileError
from llmpp.utils.lock import exclusive
from llmpp.utils.paths import cache_dir

__all__ = ["BOS", "EOS", "PAD", "UNK", "Corpus", "corpus_dir", "load_corpus", "prepare_corpus"]
log = logging.getLogger(__name__)

# Version of the *content* (what the fingerprint hashes); FORMAT_VERSION is the layout.
CONTENT_VERSION = 1
DEFAULT_CHUNK_PAIRS = 20_000


def _plain(cfg: Mapping[str, Any] | DictConfig) -> dict[str, Any]:
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return dict(cfg)


def fingerprint(task_cfg: Mapping[str, Any]) -> str:
    """Hash of everything that determines the cached corpus's content."""
    keys = ("name", "source_lang", "target_lang", "vocab_size", "data")
    payload = {k: task_cfg.get(k) for k in keys} | {"format": CONTENT_VERSION}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def default_workers() -> int:
    """Encoding processes when none are asked for: the CPUs this process may use, up to 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


@dataclass
class Corpus:
    """The memory-mapped splits of a built corpus, its evaluation text and its tokenizer."""

    root: Path
    meta: dict[str, Any]
    vocab_size: int
    _text: dict[tuple[str, str], list[str]] = field(default_factory=dict, repr=False)

    @property
    def spm_path(self) -> Path:
        return self.root / "spm.model"

    def split(self, name: str, limit: int | None = None) -> BinarizedSplit:
        """Index access to the token ids of one split (no data is read until used)."""
        return BinarizedSplit(self.root, name, self.meta["dtype"], limit)

    def text(self, name: str, side: str) -> list[str]:
        """Raw sentences of an evaluation split (``valid``/``test``; training text is not kept)."""
        key = (name, side)
        if key not in self._text:
            path = self.root / f"{name}.{side}.txt"
            if not path.is_file():
                raise CorruptFileError(f"{path} is missing; delete {self.root} to rebuild")
            self._text[key] = path.read_text(encoding="utf-8").splitlines()
        return self._text[key]

    def references(self, name: str) -> list[str]:
        """Target sentences of an evaluation split (BLEU references)."""
        return self.text(name, "tgt")

    def sources(self, name: str) -> list[str]:
        """Source sentences of an evaluation split."""
        return self.text(name, "src")

    def tokenizer(self):
        import sentencepiece as spm

        return spm.SentencePieceProcessor(model_file=str(self.spm_path))

    def decode(self, ids) -> str:
        return self.tokenizer().decode([int(i) for i in ids])


def corpus_dir(task_cfg: Mapping[str, Any] | DictConfig) -> Path:
    """Where a task's corpus lives in the cache (depends on its content settings only)."""
    plain = _plain(task_cfg)
    return cache_dir() / "data" / str(plain["name"]) / fingerprint(plain)


def read_meta(root: Path) -> dict[str, Any] | None:
    """The meta of a finished corpus in the current format, else None."""
    try:
        meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return meta if meta.get("format") == FORMAT_VERSION else None


def _discard_unfinished(dest: Path) -> None:
    """Remove what a killed or older builder left (called under the build lock)."""
    for stale in dest.parent.glob(f".build-{dest.name}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    if dest.exists():
        if (dest / "ids.pt").exists() or (dest / "text.json").exists():
            log.info("corpus cache %s is in the old ids.pt/text.json format; rebuilding it", dest)
        else:
            log.info("corpus cache %s is incomplete or outdated; rebuilding it", dest)
        shutil.rmtree(dest)


def prepare_corpus(
    task_cfg: Mapping[str, Any] | DictConfig,
    *,
    workers: int | None = None,
    chunk_pairs: int = DEFAULT_CHUNK_PAIRS,
) -> Path:
    """Build the cached corpus if it is missing (once, whoever else asks); returns its folder.

    Args:
        task_cfg: the task config (its ``data`` block says where the pairs come from).
        workers: encoding processes (None = ``default_workers()``); not part of the content.
        chunk_pairs: pairs per encoding task; bounds the builder's memory.
    """
    plain = _plain(task_cfg)
    dest = corpus_dir(plain)
    if read_meta(dest) is not None:
        return dest
    with exclusive(dest.parent / f"{dest.name}.lock", what=f"corpus {plain['name']}"):
        if read_meta(dest) is not None:  # another process built it while we waited
            return dest
        _discard_unfinished(dest)
        log.info("building corpus %s into %s", plain["name"], dest)
        work = dest.parent / f".build-{dest.name}-{os.getpid()}"
        work.mkdir(parents=True)
        try:
            build_into(plain, work, workers=workers or default_workers(), chunk_pairs=chunk_pairs)
            os.replace(work, dest)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return dest


def load_corpus(task_cfg: Mapping[str, Any] | DictConfig, **build: Any) -> Corpus:
    """The cached corpus of a task (built on first use); opening it reads only ``meta.json``."""
    root = prepare_corpus(task_cfg, **build)
    meta = read_meta(root)
    if meta is None:
        raise CorruptFileError(f"corpus cache {root} is unreadable; delete it to rebuild")
    return Corpus(root=root, meta=meta, vocab_size=int(_plain(task_cfg)["vocab_size"]))
