"""A step resumed after a kill mid-write deletes the torn temp file (issue 25's chaos test).

The kill leaves ``.last.ckpt.<random>.tmp`` beside the intact ``last.ckpt`` it was
replacing; the resumed step must start without it, and the finished step must not keep
it (nothing else would ever delete it, and a supernet's is as large as the checkpoint).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from llmpp.pipeline.store import StageStore
from llmpp.testing.interrupt import SimulatedKill

CFG = OmegaConf.create({"x": 1})
TORN = ("checkpoints/.last.ckpt.k1ll3d.tmp", ".labels.jsonl.x9.tmp")


def killed_mid_write(out_dir: Path, cfg=None) -> dict:
    (out_dir / "checkpoints").mkdir()
    (out_dir / "checkpoints" / "last.ckpt").write_bytes(b"step 3")  # the last good one
    for name in TORN:  # the writes in flight when the process died
        (out_dir / name).write_bytes(b"half a checkpo")
    raise SimulatedKill("killed mid-write")


def resumes(seen: list[list[str]]):
    def stage(cfg, out_dir: Path) -> dict:
        seen.append(sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*.tmp")))
        assert (out_dir / "checkpoints" / "last.ckpt").read_bytes() == b"step 3"
        (out_dir / "checkpoints" / "last.ckpt").write_bytes(b"step 6")
        return {"checkpoint": str(out_dir / "checkpoints" / "last.ckpt")}
    return stage


def test_resumed_step_starts_without_the_killed_runs_temp_files(tmp_path) -> None:
    store, seen = StageStore(tmp_path), []
    with pytest.raises(SimulatedKill):
        store.ensure("supernet", CFG, lambda cfg, d: killed_mid_write(d))
    out_dir = store.dir_for("supernet", CFG)
    assert all((out_dir / name).exists() for name in TORN)
    result, reused = store.ensure("supernet", CFG, resumes(seen))
    assert not reused and seen == [[]], seen
    assert not list(out_dir.rglob("*.tmp"))
    assert Path(result["checkpoint"]).read_bytes() == b"step 6"


def test_other_dot_files_and_finished_outputs_are_kept(tmp_path) -> None:
    store = StageStore(tmp_path)
    with pytest.raises(SimulatedKill):
        store.ensure("supernet", CFG, lambda cfg, d: killed_mid_write(d))
    out_dir = store.dir_for("supernet", CFG)
    (out_dir / ".hidden").write_text("not a temp file")
    (out_dir / "notes.tmp").write_text("not ours: no leading dot")
    store.ensure("supernet", CFG, resumes([]))
    assert (out_dir / ".hidden").exists() and (out_dir / "notes.tmp").exists()


def test_the_resume_says_what_it_removed_and_keeps_temp_named_folders(tmp_path,
                                                                      caplog) -> None:
    store = StageStore(tmp_path)
    out_dir = store.dir_for("supernet", CFG)
    (out_dir / ".shards.k1.tmp").mkdir(parents=True)  # a folder: not an atomic file write
    (out_dir / ".labels.jsonl.x9.tmp").write_text("half")
    with caplog.at_level(logging.INFO, logger="llmpp.pipeline.store"):
        store.ensure("supernet", CFG, lambda cfg, d: {})
    assert (out_dir / ".shards.k1.tmp").is_dir()
    assert not (out_dir / ".labels.jsonl.x9.tmp").exists()
    assert caplog.messages[0] == (f"supernet: removed 1 torn write(s) of a killed run in "
                                  f"{out_dir} (e.g. .labels.jsonl.x9.tmp)")
