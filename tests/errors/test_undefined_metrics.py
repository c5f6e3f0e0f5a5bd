"""A metric over no predictions is undefined: NaN in memory, null in JSON, "n/a" in tables."""

import json
import math

import numpy as np
import pytest

from llmpp.evaluation.report import markdown_table
from llmpp.metrics.agreement import METRICS, kendall_tau, mae, spearman_rho, summarize
from llmpp.utils.io import write_json

GOLD = np.array([20.0, 21.0, 22.0, 23.0])


@pytest.mark.parametrize("name", list(METRICS))
def test_no_finite_prediction_is_undefined_not_zero(name) -> None:
    assert math.isnan(METRICS[name](np.full(4, np.nan), GOLD))


def test_one_pair_cannot_rank() -> None:
    pred = np.array([np.nan, 21.5, np.nan, np.nan])
    assert math.isnan(kendall_tau(pred, GOLD)) and math.isnan(spearman_rho(pred, GOLD))
    assert mae(pred, GOLD) == pytest.approx(0.5)  # one pair still has an error


def test_an_undefined_seed_makes_the_summary_undefined() -> None:
    assert all(math.isnan(v) for v in summarize([0.3, math.nan, 0.5]).values())
    assert summarize([0.25, 0.75]) == {"mean": 0.5, "std": 0.25}


def test_json_says_null_and_the_table_says_n_a(tmp_path) -> None:
    undefined = {"mean": math.nan, "std": math.nan}
    payload = {
        "predictor": "llm_pp[x]",
        "tasks": {
            "wmt14_en_de": {
                "mae": {"mean": 1.25, "std": 0.5},
                "kendall": undefined,
                "spearman": undefined,
                "precision_at_5": undefined,
                "seeds": {"123": {"failures": 19, "kendall": math.nan}},
            }
        },
    }
    write_json(tmp_path / "b.json", payload)
    text = (tmp_path / "b.json").read_text()
    assert "NaN" not in text
    saved = json.loads(text)
    assert saved["tasks"]["wmt14_en_de"]["kendall"] == {"mean": None, "std": None}
    assert saved["tasks"]["wmt14_en_de"]["seeds"]["123"]["kendall"] is None
    for table in (markdown_table(payload), markdown_table(saved)):
        row = next(line for line in table.splitlines() if line.startswith("| wmt14_en_de"))
        assert row == "| wmt14_en_de | 1.25 ± 0.50 | n/a | n/a | n/a | 19 |"
