"""Shipped predictors: the contract, and the paper's recorded rows reproduced exactly."""

from __future__ import annotations

import numpy as np
import pytest

from llmpp.evaluation.protocol import ProtocolConfig, evaluate_task
from llmpp.gold import GoldSource, load_gold_split
from llmpp.predictors.base import Demonstration, TaskContext
from llmpp.predictors.calibrated import CalibratedPredictor
from llmpp.predictors.ensemble import EnsemblePredictor
from llmpp.predictors.linear import LinearPredictor
from llmpp.predictors.mean_demos import MeanDemosPredictor
from llmpp.predictors.recorded import RecordedPredictor
from llmpp.task import TaskSpec, load_task_config
from llmpp.testing.predictor_contract import check_predictor_contract

COLUMNS = ["HAT", "Supernet (Sandwich)", "Layer-wise MoS", "Neuron-wise MoS"]

FACTORIES = {
    "recorded": lambda: RecordedPredictor(column="HAT"),
    "mean_demos": MeanDemosPredictor,
    "linear": lambda: LinearPredictor(feature="flops"),
    "calibrated": lambda: CalibratedPredictor(base=RecordedPredictor(column="Neuron-wise MoS")),
    "ensemble_mean": lambda: EnsemblePredictor(
        members=[RecordedPredictor(column=c) for c in COLUMNS]
    ),
    "ensemble_ridge": lambda: EnsemblePredictor(
        members=[RecordedPredictor(column="HAT"), LinearPredictor(feature="params")], mode="ridge"
    ),
}


def _task(name: str = "wmt14_en_de") -> TaskSpec:
    return TaskSpec.from_config(load_task_config(name))


@pytest.fixture(scope="module")
def split(gold_root):
    source = GoldSource(gold_root)
    demos = load_gold_split("wmt14ende", 123, "train", source=source)
    tests = load_gold_split("wmt14ende", 123, "test", source=source)
    return demos, tests


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_contract(name, split, paper_space) -> None:
    demos, tests = split
    context = TaskContext(task=_task(), space=paper_space, records=[*demos, *tests], seed=123)
    check_predictor_contract(
        FACTORIES[name],
        context,
        [Demonstration(r.arch, r.score()) for r in demos],
        [r.arch for r in tests],
    )


# (MAE, tau) means over seeds, recomputed from the released files (SOURCE.md).
EXPECTED = {
    ("wmt14_en_de", "HAT"): (1.14, 0.71),
    ("wmt14_en_de", "Supernet (Sandwich)"): (1.05, 0.81),
    ("wmt14_en_de", "Layer-wise MoS"): (0.97, 0.56),
    ("wmt14_en_de", "Neuron-wise MoS"): (0.87, 0.79),
    ("wmt14_en_fr", "HAT"): (1.59, 0.79),
    ("wmt14_en_fr", "Supernet (Sandwich)"): (1.27, 0.78),
    ("wmt14_en_fr", "Layer-wise MoS"): (1.16, 0.79),
    ("wmt14_en_fr", "Neuron-wise MoS"): (1.18, 0.87),
    ("wmt19_en_de", "HAT"): (0.91, 0.72),
    ("wmt19_en_de", "Supernet (Sandwich)"): (0.91, 0.72),
    ("wmt19_en_de", "Layer-wise MoS"): (0.96, 0.74),
    ("wmt19_en_de", "Neuron-wise MoS"): (0.87, 0.67),
}


@pytest.mark.parametrize(("task", "column"), sorted(EXPECTED))
def test_recorded_rows_reproduce_the_paper_table(task, column, gold_root) -> None:
    result, _, _ = evaluate_task(
        lambda: RecordedPredictor(column=column),
        _task(task),
        ProtocolConfig(),
        source=GoldSource(gold_root),
    )
    mae, tau = EXPECTED[(task, column)]
    assert round(result["mae"]["mean"], 2) == mae
    assert round(result["kendall"]["mean"], 2) == tau
    assert sorted(result["seeds"]) == ["123", "456", "789"]
    assert all(len(seed["predictions"]) == 20 for seed in result["seeds"].values())


def test_neuron_wise_mos_std_on_wmt14_en_de(gold_root) -> None:
    result, _, _ = evaluate_task(
        lambda: RecordedPredictor(column="Neuron-wise MoS"),
        _task(),
        ProtocolConfig(),
        source=GoldSource(gold_root),
    )
    assert round(result["mae"]["std"], 2) == 0.02
    assert round(result["kendall"]["std"], 2) == 0.02


def test_calibration_removes_the_supernet_offset(gold_root) -> None:
    source = GoldSource(gold_root)
    raw, _, _ = evaluate_task(
        lambda: RecordedPredictor(column="HAT"), _task(), ProtocolConfig(), source=source
    )
    calibrated, _, _ = evaluate_task(
        FACTORIES["calibrated"], _task(), ProtocolConfig(), source=source
    )
    assert calibrated["mae"]["mean"] < 0.5 * raw["mae"]["mean"]
    # A positive-slope calibration keeps the base ranking.
    nmos, _, _ = evaluate_task(
        lambda: RecordedPredictor(column="Neuron-wise MoS"),
        _task(),
        ProtocolConfig(),
        source=source,
    )
    assert calibrated["kendall"]["mean"] == pytest.approx(nmos["kendall"]["mean"])


def test_mean_demos_predicts_the_demo_mean(split, paper_space) -> None:
    demos, tests = split
    predictor = MeanDemosPredictor()
    predictor.setup(TaskContext(task=_task(), space=paper_space))
    predictor.fit([Demonstration(r.arch, r.score()) for r in demos])
    expected = np.mean([r.score() for r in demos])
    assert np.allclose(predictor.predict([r.arch for r in tests]), expected)


def test_linear_recovers_an_exact_line(split, paper_space) -> None:
    demos, tests = split
    context = TaskContext(task=_task(), space=paper_space)
    truth = [
        20 + 1e-7 * context.efficiency(r.arch).num_parameters_without_embedding_weights
        for r in demos
    ]
    predictor = LinearPredictor(feature="params")
    predictor.setup(context)
    predictor.fit([Demonstration(r.arch, y) for r, y in zip(demos, truth, strict=True)])
    arch = tests[0].arch
    want = 20 + 1e-7 * context.efficiency(arch).num_parameters_without_embedding_weights
    assert predictor.predict([arch])[0] == pytest.approx(want)


def test_ensemble_mean_is_the_member_mean(split, paper_space) -> None:
    demos, tests = split
    context = TaskContext(task=_task(), space=paper_space, records=[*demos, *tests])
    members = [RecordedPredictor(column=c) for c in COLUMNS]
    ensemble = EnsemblePredictor(members=members)
    ensemble.setup(context)
    ensemble.fit([])
    archs = [r.arch for r in tests]
    expected = np.mean([[r.recorded[c]["valid_BLEU"] for c in COLUMNS] for r in tests], axis=1)
    assert np.allclose(ensemble.predict(archs), expected)


def test_recorded_refuses_unknown_archs(split, paper_space) -> None:
    from llmpp.errors import DataNotFoundError

    demos, _ = split
    predictor = RecordedPredictor()
    predictor.setup(TaskContext(task=_task(), space=paper_space, records=demos))
    with pytest.raises(DataNotFoundError, match="only scores architectures in the gold data"):
        predictor.predict([paper_space.largest()])
