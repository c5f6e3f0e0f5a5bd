"""The search memo tells apart any two architectures that differ in one value.

The memo scores each architecture once per predictor; a key that drops a field or a
layer would hand one architecture's score to another. Every field and every layer
position of the paper space's largest architecture is changed once here.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from llmpp.search.memo import MemoScorer
from llmpp.space.architecture import ARCH_FIELDS, Architecture


class Counting:
    """A predictor that gives every architecture it sees a new score."""

    def __init__(self) -> None:
        self.seen: list[Architecture] = []

    def predict(self, archs):
        start = len(self.seen)
        self.seen += archs
        return [float(start + i) for i in range(len(archs))]


def neighbours(space, arch: Architecture) -> list[Architecture]:
    """``arch`` with one value changed, for every field and every layer position."""
    out = []
    for field in ARCH_FIELDS:
        value = getattr(arch, field)
        current = value[0] if isinstance(value, tuple) else value
        others = [c for c in space.choices[field] if c != current]
        if not others:
            continue
        if isinstance(value, tuple):
            for i in range(len(value)):
                layers = list(value)
                layers[i] = others[0]
                out.append(dataclasses.replace(arch, **{field: tuple(layers)}))
        elif field == "decoder_layer_num":  # one layer fewer: every decoder list shortened
            depth = others[0]
            lists = {f: getattr(arch, f)[:depth] for f in ARCH_FIELDS
                     if f.startswith("decoder_") and isinstance(getattr(arch, f), tuple)}
            out.append(dataclasses.replace(arch, decoder_layer_num=depth, **lists))
        else:
            out.append(dataclasses.replace(arch, **{field: others[0]}))
    return out


def test_one_changed_value_is_a_new_architecture_to_the_memo(paper_space) -> None:
    base = paper_space.largest()
    archs = [base, *neighbours(paper_space, base)]
    # 2 widths + the decoder depth + 6 encoder layers x 2 fields + 6 decoder layers x 4.
    assert len(archs) == 1 + 3 + 12 + 24
    predictor = Counting()
    memo = MemoScorer({"p": predictor})
    scores = memo.score("p", archs)
    assert len(predictor.seen) == len(archs), "two different architectures shared a memo entry"
    assert len(set(scores.tolist())) == len(archs)
    # ... and a second pass is answered from the memo alone, each with its own score.
    np.testing.assert_array_equal(memo.score("p", archs[::-1]), scores[::-1])
    assert len(predictor.seen) == len(archs)


def test_equal_architectures_share_one_entry(paper_space) -> None:
    archs = paper_space.sample(np.random.default_rng(0), 20)
    copies = [Architecture(**{f: getattr(a, f) for f in ARCH_FIELDS}) for a in archs]
    predictor = Counting()
    memo = MemoScorer({"p": predictor})
    first = memo.score("p", archs)
    again = memo.score("p", copies + archs)
    distinct = len({a.key() for a in archs})
    assert len(predictor.seen) == distinct
    np.testing.assert_array_equal(again, np.concatenate([first, first]))
    assert memo.hits["p"] == (20 - distinct) + 40


def test_predictor_seconds_add_up_over_calls(paper_space, monkeypatch) -> None:
    import llmpp.search.memo as memo_module

    # Two predict calls of 2 s and 3 s on a scripted clock: the memo reports 5 s.
    ticks = iter([0.0, 2.0, 10.0, 13.0])
    monkeypatch.setattr(memo_module.time, "perf_counter", lambda: next(ticks))
    memo = MemoScorer({"p": Counting()})
    memo.score("p", [paper_space.largest()])
    memo.score("p", [paper_space.smallest()])
    assert memo.seconds["p"] == 5.0
