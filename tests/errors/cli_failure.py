"""The one assertion every bad-input test makes: one line on stderr, exit 2, nothing written."""

from __future__ import annotations

import subprocess
from pathlib import Path

# Lightning's own start-up lines (INFO logging) precede a stage's error when the
# mistake is found after the Trainer exists (e.g. data that cannot be downloaded).
LIGHTNING_NOISE = ("GPU available", "TPU available", "Tip:", "HPU available")


def assert_clean_failure(
    proc: subprocess.CompletedProcess, run: Path, fragments, *, noise: tuple[str, ...] = ()
) -> None:
    """Exit 2, no traceback, the last stderr line the only error (lines containing one of
    ``noise`` may precede it), each fragment in it, and no result file (``*.json*``) in
    ``run`` besides Hydra's own."""
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("llmpp: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], proc.stderr
    others = [line for line in lines[:-1] if not any(n in line for n in noise)]
    assert not others, proc.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    written = [p for p in run.rglob("*.json*") if ".hydra" not in p.parts] if run.exists() else []
    assert not written, f"half-written results: {written}"
