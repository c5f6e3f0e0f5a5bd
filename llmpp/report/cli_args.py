"""``llmpp report <dir> <dir> key=value``: positional dirs become the ``dirs=`` override."""

from __future__ import annotations

# Hydra flags that take the next argument as their value (it is not a run dir).
_VALUE_FLAGS = frozenset({"--cfg", "-c", "--package", "-p", "--config-path", "-cp",
                          "--config-name", "-cn", "--config-dir", "-cd", "--experimental-rerun"})


def _quote(path: str) -> str:
    """A path as a Hydra quoted string (commas, brackets and spaces then need no care)."""
    return "'" + path.replace("\\", "\\\\").replace("'", "\\'") + "'"


def positional_dirs_to_overrides(args: list[str]) -> list[str]:
    """Move arguments that are neither ``key=value`` nor flags into one ``dirs=[...]``.

    ``["outputs/a", "plots=false"]`` becomes ``["plots=false", "dirs=['outputs/a']"]``;
    with no positional argument the list is returned unchanged.
    """
    kept: list[str] = []
    dirs: list[str] = []
    for i, arg in enumerate(args):
        after_flag = i > 0 and args[i - 1] in _VALUE_FLAGS
        if arg.startswith("-") or "=" in arg or after_flag:
            kept.append(arg)
        else:
            dirs.append(arg)
    if not dirs:
        return kept
    return [*kept, "dirs=[" + ",".join(_quote(d) for d in dirs) + "]"]
