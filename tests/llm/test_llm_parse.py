"""The reply parser: first number, range check, several answers per reply."""

import pytest

from llmpp.llm.parse import parse_score, parse_scores


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("25.31", 25.31),
        (" 26.1\n\nencoder-embed-dim", 26.1),
        ("The estimated BLEU is 27.4 for this model.", 27.4),
        ("BLEU: 24", 24.0),
        (".5", 0.5),
        ("100", 100.0),
        ("0.0", 0.0),
    ],
)
def test_first_number_is_the_answer(reply, expected):
    assert parse_score(reply) == pytest.approx(expected)


@pytest.mark.parametrize("reply", [None, "", "banana", "about twenty-five", "250", "-3", "101.5"])
def test_no_number_or_out_of_range_is_none(reply):
    assert parse_score(reply) is None


def test_range_is_configurable():
    assert parse_score("250", high=1000) == 250.0
    assert parse_score("25", low=30) is None


def test_several_scores_by_index_and_in_order():
    assert parse_scores("1: 24.1\n2: 25.0\n3: 26.5", 3) == [24.1, 25.0, 26.5]
    # an index skipped by the model leaves a hole instead of shifting the rest
    assert parse_scores("1: 24.1\n3: 26.5", 3) == [24.1, None, 26.5]
    assert parse_scores("24.1, 25.0", 3) == [24.1, 25.0, None]
    assert parse_scores("1: 24.1\n2: 400", 2) == [24.1, None]
    assert parse_scores(None, 2) == [None, None]
