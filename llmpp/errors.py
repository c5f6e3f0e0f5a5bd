"""Exception hierarchy: callers catch only what they can handle.

A ``UserError`` is a mistake the user can fix (bad override, invalid architecture,
missing data or key, corrupt file). The CLI turns it into one line on stderr and
exit code 2; anything else is a bug and exits 1 with a traceback.
"""

import errno
import shutil
from pathlib import Path


class LlmppError(Exception):
    """Base class of every error llmpp raises on purpose."""


class UserError(LlmppError):
    """A problem the user can fix; its message says what and how."""


class InvalidArchitectureError(UserError):
    """An architecture is malformed or outside its search space."""


class DataNotFoundError(UserError):
    """Required data is neither on disk nor downloadable."""


class CorruptFileError(UserError):
    """A file on disk does not match its checksum or cannot be parsed."""


class ConfigError(UserError):
    """A configuration value is missing, unknown or inconsistent."""


class FileSystemError(UserError):
    """A directory or file cannot be written (permissions, read-only, full disk)."""


class EndpointError(UserError):
    """An LLM endpoint cannot be used at all (unreachable, key refused, unknown model)."""


class PredictionsFailedError(UserError):
    """Every prediction of a batch failed: there is nothing to report or save."""


# Why an OSError is the user's to fix, and how; other errnos are bugs and keep their traceback.
_FS_FIXES = {
    "EACCES": "permission denied; choose a writable location or fix its permissions",
    "EPERM": "operation not permitted; choose a writable location or fix its permissions",
    "EROFS": "the file system is read-only; choose a writable location",
    "ENOSPC": "no space left on the device; free some space or choose another location",
    "EDQUOT": "the disk quota is exceeded; free some space or choose another location",
    "EFBIG": "the file is larger than this process may write (ulimit -f); raise the limit or "
    "choose another location",
    "ENOTDIR": "a part of the path is a file, not a directory; choose another location",
    "EISDIR": "the path is a directory where a file is expected; choose another path",
    "ENAMETOOLONG": "the path is too long; choose a shorter location",
    "ENOENT": "it does not exist and cannot be created there; check the path or choose a "
    "writable location",
}


def filesystem_error(exc: OSError, hint: str = "") -> FileSystemError | None:
    """The one-line ``FileSystemError`` for ``exc``, or None when it is not a file problem.

    Sockets raise ``OSError`` too (connection refused...), so only errnos that mean "this
    path cannot be written" qualify, and only when the error names a path or its errno is
    a storage one (a full disk reported by ``write`` carries no file name).

    Args:
        exc: the error raised by a file operation.
        hint: which setting moves the location (e.g. ``hydra.run.dir=<dir>``).
    """
    name = errno.errorcode.get(exc.errno or -1)
    fix = _FS_FIXES.get(name or "")
    storage = name in ("ENOSPC", "EDQUOT", "EROFS", "EFBIG")
    if fix is None or (exc.filename is None and not storage):
        return None
    verb = "cannot use" if name == "ENOENT" else "cannot write"
    where = f"{verb} {exc.filename}" if exc.filename is not None else verb
    if name in ("ENOSPC", "EDQUOT") and exc.filename is not None:
        fix = f"{fix}; {free_space(exc.filename)}"
    more = f" ({hint})" if hint else ""
    return FileSystemError(f"{where}: {fix}{more}")


def free_space(filename: object) -> str:
    """How much is free on the file system of ``filename`` (its nearest existing folder)."""
    folder = Path(str(filename)).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        usage = shutil.disk_usage(folder)
    except OSError:
        return f"free space on {folder} unknown"
    return f"{_size(usage.free)} free of {_size(usage.total)} on {folder}"


def _size(n_bytes: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n_bytes < 1024 or unit == "GiB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")
