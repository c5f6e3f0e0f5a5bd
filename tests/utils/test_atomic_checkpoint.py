"""A checkpoint save that fails part-way (full disk, quota, file-size limit) keeps the last
good checkpoint and leaves no partial file.

The failure is real, not mocked: ``RLIMIT_FSIZE`` makes the kernel refuse every write past
a size (EFBIG, as ENOSPC would on a full disk), whichever library does the writing.
"""

from __future__ import annotations

import errno
import resource
import signal
from contextlib import contextmanager

import pytest
import torch

from llmpp.errors import filesystem_error
from llmpp.training.checkpoint_io import AtomicCheckpointIO


@contextmanager
def file_size_limit(n_bytes: int):
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error, not a signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_a_failed_save_keeps_the_last_good_checkpoint(tmp_path) -> None:
    last = tmp_path / "checkpoints" / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"weights": torch.ones(1000), "step": 1}, last)
    good = last.read_bytes()

    with file_size_limit(256 * 1024), pytest.raises(OSError) as failure:
        io.save_checkpoint({"weights": torch.ones(1_000_000), "step": 2}, last)  # 4 MB
    assert failure.value.errno == errno.EFBIG
    assert last.read_bytes() == good, "the last good checkpoint was damaged"
    assert torch.load(last, weights_only=True)["step"] == 1
    assert sorted(p.name for p in last.parent.iterdir()) == ["last.ckpt"], "a partial file left"
    problem = filesystem_error(failure.value)  # the stage's one line names the checkpoint
    assert problem is not None and str(last) in str(problem)

    io.save_checkpoint({"weights": torch.ones(1_000_000), "step": 2}, last)  # space is back
    assert torch.load(last, weights_only=True)["step"] == 2


@pytest.mark.parametrize(
    "writer",
    ["llmpp.distill.checkpoint:save_checkpoint", "llmpp.hardware.artifact:save_artifact"],
)
def test_torch_artifacts_that_do_not_fit_fail_with_the_file_named(tmp_path, writer) -> None:
    """torch.save streaming into the file hid the OSError behind a zip-writer RuntimeError."""
    import importlib

    module, name = writer.split(":")
    save = getattr(importlib.import_module(module), name)
    path = tmp_path / "artifact.pt"
    save(path, {"weights": torch.ones(10)})
    good = path.read_bytes()
    with file_size_limit(64 * 1024), pytest.raises(OSError) as failure:
        save(path, {"weights": torch.ones(1_000_000)})
    problem = filesystem_error(failure.value)
    assert problem is not None and str(path) in str(problem)
    assert path.read_bytes() == good and sorted(tmp_path.iterdir()) == [path]
