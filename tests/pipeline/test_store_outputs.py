"""A finished step whose outputs changed on disk is rebuilt, never reused (issue 25).

Each case finishes a step that writes a checkpoint, a ``labels.jsonl`` and a directory
of gold files, damages one of them the way a crash or a person would, and asks for the
step again: it must run again from an empty directory, with one warning naming the file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from llmpp.pipeline.store import OUTPUTS, RESULT, StageStore

CFG = OmegaConf.create({"x": 1})


def build(calls: list[Path]) -> Callable:
    def stage(cfg, out_dir: Path) -> dict:
        calls.append(out_dir)
        assert not (out_dir / "checkpoints").exists(), "a rebuild starts from nothing"
        (out_dir / "checkpoints").mkdir()
        (out_dir / "checkpoints" / "last.ckpt").write_bytes(b"weights" * 100)
        (out_dir / "labels.jsonl").write_text('{"arch": 1, "bleu": 25.0}\n')
        (out_dir / "gold").mkdir()
        (out_dir / "gold" / "seed0.jsonl").write_text("{}\n")
        (out_dir / "wandb.log").write_text("not named by the result: not an output")
        return {"checkpoint": str(out_dir / "checkpoints" / "last.ckpt"),
                "labels": str(out_dir / "labels.jsonl"), "gold_dir": str(out_dir / "gold"),
                "task": "wmt14_en_de"}
    return stage


def truncate_checkpoint(d: Path) -> str:
    path = d / "checkpoints" / "last.ckpt"
    path.write_bytes(path.read_bytes()[:50])
    return "last.ckpt"


def edit_labels(d: Path) -> str:  # same size: only the hash can tell
    path = d / "labels.jsonl"
    path.write_text(path.read_text().replace("25.0", "26.0"))
    return "labels.jsonl"


def delete_gold_file(d: Path) -> str:
    (d / "gold" / "seed0.jsonl").unlink()
    return "seed0.jsonl"


@pytest.mark.parametrize("damage", [truncate_checkpoint, edit_labels, delete_gold_file])
def test_a_changed_output_rebuilds_the_step_with_one_warning(tmp_path, caplog, damage) -> None:
    store, calls = StageStore(tmp_path), []
    first, reused = store.ensure("demo", CFG, build(calls))
    assert not reused and OUTPUTS not in first
    written = json.loads((Path(first["dir"]) / RESULT).read_text())[OUTPUTS]
    assert sorted(written) == ["checkpoints/last.ckpt", "gold/seed0.jsonl", "labels.jsonl"]

    name = damage(Path(first["dir"]))
    with caplog.at_level(logging.WARNING, logger="llmpp.pipeline.store"):
        again, reused = store.ensure("demo", CFG, build(calls))
    assert not reused and len(calls) == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and name in warnings[0] and "rebuilding" in warnings[0]
    assert again == {**first, "stage_seconds": again["stage_seconds"]}
    assert not list(tmp_path.glob("demo/.*")), "the discarded directory is gone"

    caplog.clear()
    _, reused = store.ensure("demo", CFG, build(calls))
    assert reused and len(calls) == 2
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_files_the_result_does_not_name_may_change(tmp_path) -> None:
    store, calls = StageStore(tmp_path), []
    first, _ = store.ensure("demo", CFG, build(calls))
    (Path(first["dir"]) / "wandb.log").write_text("appended by a late reader")
    _, reused = store.ensure("demo", CFG, build(calls))
    assert reused and len(calls) == 1


def test_a_result_without_a_manifest_is_reused(tmp_path) -> None:
    """Steps finished before manifests existed stay reusable."""
    store, calls = StageStore(tmp_path), []
    first, _ = store.ensure("demo", CFG, build(calls))
    path = Path(first["dir"]) / RESULT
    payload = json.loads(path.read_text())
    del payload[OUTPUTS]
    path.write_text(json.dumps(payload))
    again, reused = store.ensure("demo", CFG, build(calls))
    assert reused and again == first
