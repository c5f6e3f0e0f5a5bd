"""Analytic efficiency metrics reproduce every from-scratch record of the gold data."""

from __future__ import annotations

import dataclasses

import pytest

from llmpp.gold import GoldSource, load_gold_split
from llmpp.metrics import efficiency
from llmpp.task import WMT_TASKS, TaskSpec, load_task_config


def _all_records(gold_root):
    source = GoldSource(gold_root)
    for name in WMT_TASKS:
        task = TaskSpec.from_config(load_task_config(name))
        seen = {}
        for seed in (123, 456, 789):
            for split in ("train", "test"):
                for record in load_gold_split(task.gold_name, seed, split, source=source):
                    seen[record.arch.key()] = record
        yield task, list(seen.values())


def test_metrics_match_all_90_records(gold_root) -> None:
    total = 0
    for task, records in _all_records(gold_root):
        assert len(records) == 30, task.name
        for record in records:
            got = efficiency(record.arch, task.vocab_size)
            m = record.metrics
            assert (
                got.num_parameters_without_embedding_weights
                == m["num_parameters_without_embedding_weights"]
            )
            assert got.num_embedding_parameters == m["num_embedding_parameters"]
            assert got.total_flops == pytest.approx(m["total_flops"], rel=5e-3)
            assert got.last_layer_flops == pytest.approx(m["last_layer_flops"], rel=5e-3)
            # Tighter than required: the closed form is exact up to a tiny constant.
            assert got.total_flops == pytest.approx(m["total_flops"], rel=1e-6)
            total += 1
    assert total == 90


def test_arbitrary_attention_and_vocab_change_flops_not_params(paper_space) -> None:
    arch = paper_space.largest()
    wider = dataclasses.replace(arch, decoder_arbitrary_ende_attn=(2,) * 6)
    base, more = efficiency(arch, 32768), efficiency(wider, 32768)
    assert more.total_flops > base.total_flops
    assert (
        more.num_parameters_without_embedding_weights
        == base.num_parameters_without_embedding_weights
    )
    assert efficiency(arch, 40000).last_layer_flops > base.last_layer_flops
