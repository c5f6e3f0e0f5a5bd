"""Find, download and verify the authors' released data files.

The files come from the authors' public repository at a pinned commit and are
checked against the SHA-256 manifest shipped inside llmpp, so a truncated download
or an edited file is detected and never used. Resolution order for the root:
``benchmark.root=`` (or ``LLMPP_BENCHMARK_ROOT``), else the user cache, filled on
first use.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from llmpp.errors import CorruptFileError, DataNotFoundError
from llmpp.utils.io import write_bytes
from llmpp.utils.paths import cache_dir

log = logging.getLogger(__name__)

LLMAS_REPOSITORY = "UBC-NLP/llmas"
LLMAS_COMMIT = "35980b8faf884c51d25fa45a644b47729f152e03"
DEFAULT_MIRROR = "https://raw.githubusercontent.com/UBC-NLP/llmas"
ROOT_ENV = "LLMPP_BENCHMARK_ROOT"


def manifest_name(commit: str = LLMAS_COMMIT) -> str:
    """The SHA-256 manifest llmpp ships for a commit of the authors' repository."""
    return f"llmas-{commit[:7]}.sha256"


@cache
def manifest(commit: str = LLMAS_COMMIT) -> dict[str, str]:
    """Relative path (under ``data/``) -> SHA-256 of every released file of ``commit``."""
    resource = resources.files("llmpp.gold").joinpath(manifest_name(commit))
    if not resource.is_file():
        raise DataNotFoundError(
            f"llmpp ships no checksum manifest for commit {commit} of {LLMAS_REPOSITORY}; "
            f"use benchmark.commit={LLMAS_COMMIT}"
        )
    text = resource.read_text()
    entries = {}
    for line in text.splitlines():
        if line.strip():
            digest, path = line.split(maxsplit=1)
            entries[path.strip()] = digest
    return entries


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class GoldSource:
    """Gives verified local paths of the authors' data files.

    Args:
        root: a local copy of the authors' ``data/`` folder; ``None`` means the env
            var ``LLMPP_BENCHMARK_ROOT``, else the user cache (downloaded on demand).
        mirror: base URL of the repository's raw files; a file is fetched from
            ``<mirror>/<commit>/data/<path>``.
        commit: the pinned commit (llmpp ships its SHA-256 manifest).
        timeout: seconds per download request.
    """

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        *,
        mirror: str = DEFAULT_MIRROR,
        commit: str = LLMAS_COMMIT,
        timeout: float = 30.0,
    ) -> None:
        root = root or os.environ.get(ROOT_ENV) or None
        self.local = root is not None
        self.commit = commit
        self.manifest = manifest(commit)
        self.root = (
            Path(root).expanduser() if root else cache_dir() / "llmas" / commit / "data"
        )
        self.mirror = mirror.rstrip("/")
        self.timeout = timeout
        self._verified: set[str] = set()
        if self.local and not self.root.is_dir():
            raise DataNotFoundError(
                f"benchmark root {self.root} is not a directory; pass benchmark.root=<path to the "
                f"authors' data/ folder> or unset {ROOT_ENV}"
            )

    def path(self, relative: str) -> Path:
        """The verified local path of ``relative`` (e.g. ``train-test_seedarchs/123/...``)."""
        expected = self.manifest.get(relative)
        if expected is None:
            raise DataNotFoundError(f"{relative} is not a file of the authors' data release")
        target = self.root / relative
        if relative in self._verified:
            return target
        if not target.exists():
            if self.local:
                raise DataNotFoundError(
                    f"{target} is missing from benchmark root {self.root}; point benchmark.root= "
                    "at a complete copy of the authors' data/ folder"
                )
            self._download(relative, target, expected)
        actual = sha256_of(target)
        if actual != expected:
            if self.local:
                raise CorruptFileError(
                    f"{target} does not match its SHA-256 in llmpp's manifest; restore it from "
                    f"{LLMAS_REPOSITORY}@{self.commit[:7]} or drop benchmark.root= to download"
                )
            log.warning("cached %s is corrupt; downloading it again", target)
            target.unlink()
            self._download(relative, target, expected)
        self._verified.add(relative)
        return target

    def _download(self, relative: str, target: Path, expected: str) -> None:
        url = f"{self.mirror}/{self.commit}/data/{relative}"
        log.info("downloading %s", url)
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                data = response.read()
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DataNotFoundError(
                f"gold data {relative} is not cached and could not be downloaded ({reason}); "
                f"connect to the network, or pass benchmark.root=<local copy of the authors' "
                f"data/ folder> (or set {ROOT_ENV})"
            ) from None
        if hashlib.sha256(data).hexdigest() != expected:
            raise CorruptFileError(
                f"download of {relative} from {url} does not match llmpp's SHA-256 manifest; "
                "retry later or pass benchmark.root=<local copy>"
            )
        write_bytes(target, data)


@dataclass(frozen=True)
class GoldData:
    """Where a stage's gold data comes from (the ``benchmark`` config group).

    Args:
        root: a local copy of the authors' ``data/`` folder (None: env, else the cache).
        gold: a gold set built by ``llmpp retrain`` (``<gold>/<seed>/<task>/*.jsonl``),
            used instead of the authors' release for demonstrations and tests.
        mirror: base URL the release is downloaded from.
        commit: the pinned commit of the release.
        seeds: the protocol seeds (each has its demonstrations and test architectures).
        gold_field: the record field that is the gold score.
    """

    root: str | None = None
    gold: str | None = None
    mirror: str = DEFAULT_MIRROR
    commit: str = LLMAS_COMMIT
    seeds: tuple[int, ...] = (123, 456, 789)
    gold_field: str = "valid_BLEU"
    _source: list = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))

    def source(self) -> GoldSource:
        """The verified file source of the authors' release (built once)."""
        if not self._source:
            self._source.append(GoldSource(self.root, mirror=self.mirror, commit=self.commit))
        return self._source[0]

    def release_source(self) -> GoldSource | None:
        """The authors' release, or None when a local gold set replaces it."""
        return None if self.gold else self.source()
