"""Find, download and verify public data releases llmpp reads (the authors' data, HAT's).

The files come from a public repository at a pinned commit and are checked against
the SHA-256 manifest shipped inside llmpp, so a truncated download or an edited
file is detected and never used. Resolution order for the root: the config key
(``benchmark.root=`` for the authors' data) or its environment variable
(``LLMPP_BENCHMARK_ROOT``), else the user cache, filled on first use.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
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


@dataclass(frozen=True)
class Release:
    """A public data release llmpp reads: where it is, how it is pinned and named.

    Args:
        repository: ``owner/name`` on GitHub.
        commit: the pinned commit (llmpp ships ``<prefix>-<commit[:7]>.sha256``).
        mirror: base URL of raw files: ``<mirror>/<commit>/<subdir>/<path>``.
        package: the llmpp package that ships the manifest.
        prefix: the manifest's file-name prefix.
        subdir: the folder of the repository that the manifest's paths are under.
        env: the environment variable naming a local copy.
        root_key: the config key naming a local copy (quoted in errors).
        what: what a local copy is, for errors ("the authors' data/ folder").
        name: what the data is, for errors ("gold data").
    """

    repository: str
    commit: str
    mirror: str
    package: str
    prefix: str
    subdir: str
    env: str
    root_key: str
    what: str
    name: str

    def manifest_name(self, commit: str | None = None) -> str:
        return f"{self.prefix}-{(commit or self.commit)[:7]}.sha256"

    def with_commit(self, commit: str) -> Release:
        return replace(self, commit=commit)


LLMAS = Release(
    repository=LLMAS_REPOSITORY, commit=LLMAS_COMMIT, mirror=DEFAULT_MIRROR,
    package="llmpp.gold", prefix="llmas", subdir="data", env=ROOT_ENV,
    root_key="benchmark.root", what="the authors' data/ folder", name="gold data",
)


def manifest_name(commit: str = LLMAS_COMMIT) -> str:
    """The SHA-256 manifest llmpp ships for a commit of the authors' repository."""
    return LLMAS.manifest_name(commit)


def manifest(commit: str = LLMAS_COMMIT, release: Release = LLMAS) -> dict[str, str]:
    """Relative path (under the release's folder) -> SHA-256 of every file of ``commit``."""
    return _manifest(release.with_commit(commit), release.commit)


@cache
def _manifest(release: Release, pinned: str) -> dict[str, str]:
    resource = resources.files(release.package).joinpath(release.manifest_name())
    if not resource.is_file():
        key = "benchmark.commit=" if release.prefix == LLMAS.prefix else "the pinned commit "
        raise DataNotFoundError(
            f"llmpp ships no checksum manifest for commit {release.commit} of "
            f"{release.repository}; use {key}{pinned}"
        )
    entries = {}
    for line in resource.read_text().splitlines():
        if line.strip():
            digest, path = line.split(maxsplit=1)
            entries[path.strip().removeprefix("./")] = digest
    return entries


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ReleaseSource:
    """Gives verified local paths of a release's files (see ``Release``).

    Args:
        root: a local copy of the release's folder; ``None`` means the release's env
            var, else the user cache (downloaded on demand).
        mirror: base URL of the repository's raw files (None: the release's).
        commit: the pinned commit (None: the release's; llmpp ships its manifest).
        timeout: seconds per download request.
        release: which release.
    """

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        *,
        mirror: str | None = None,
        commit: str | None = None,
        timeout: float = 30.0,
        release: Release = LLMAS,
    ) -> None:
        self.release = release.with_commit(commit) if commit else release
        root = root or os.environ.get(self.release.env) or None
        self.local = root is not None
        self.commit = self.release.commit
        self.manifest = _manifest(self.release, release.commit)
        cached = cache_dir() / self.release.prefix / self.commit
        if self.release.subdir:
            cached = cached / self.release.subdir
        self.root = Path(root).expanduser() if root else cached
        self.mirror = (mirror or self.release.mirror).rstrip("/")
        self.timeout = timeout
        self._verified: set[str] = set()
        r = self.release
        if self.local and not self.root.is_dir():
            raise DataNotFoundError(
                f"{r.root_key.split('.')[0]} root {self.root} is not a directory; pass "
                f"{r.root_key}=<path to {r.what}> or unset {r.env}"
            )

    def path(self, relative: str) -> Path:
        """The verified local path of ``relative`` (e.g. ``train-test_seedarchs/123/...``)."""
        r = self.release
        expected = self.manifest.get(relative)
        if expected is None:
            raise DataNotFoundError(f"{relative} is not a file of the {r.repository} release")
        target = self.root / relative
        if relative in self._verified:
            return target
        if not target.exists():
            if self.local:
                raise DataNotFoundError(
                    f"{target} is missing from {r.root_key.split('.')[0]} root {self.root}; "
                    f"point {r.root_key}= at a complete copy of {r.what}"
                )
            self._download(relative, target, expected)
        actual = sha256_of(target)
        if actual != expected:
            if self.local:
                raise CorruptFileError(
                    f"{target} does not match its SHA-256 in llmpp's manifest; restore it from "
                    f"{r.repository}@{self.commit[:7]} or drop {r.root_key}= to download"
                )
            log.warning("cached %s is corrupt; downloading it again", target)
            target.unlink()
            self._download(relative, target, expected)
        self._verified.add(relative)
        return target

    def _download(self, relative: str, target: Path, expected: str) -> None:
        r = self.release
        folder = f"{r.subdir}/" if r.subdir else ""
        url = f"{self.mirror}/{self.commit}/{folder}{relative}"
        log.info("downloading %s", url)
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                data = response.read()
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DataNotFoundError(
                f"{r.name} {relative} is not cached and could not be downloaded ({reason}); "
                f"connect to the network, or pass {r.root_key}=<local copy of {r.what}> "
                f"(or set {r.env})"
            ) from None
        if hashlib.sha256(data).hexdigest() != expected:
            raise CorruptFileError(
                f"download of {relative} from {url} does not match llmpp's SHA-256 manifest; "
                f"retry later or pass {r.root_key}=<local copy>"
            )
        write_bytes(target, data)


class GoldSource(ReleaseSource):
    """Verified local paths of the authors' released data files (``Release`` LLMAS).

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
        super().__init__(root, mirror=mirror, commit=commit, timeout=timeout, release=LLMAS)


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
