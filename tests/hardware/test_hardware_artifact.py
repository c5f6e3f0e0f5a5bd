"""The latency artifact round-trips and refuses a mismatched space, task or a corrupt file."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hardware_helpers import MINI_TASK, write_tiny_artifact

from llmpp.errors import ConfigError, CorruptFileError, DataNotFoundError
from llmpp.hardware.artifact import LatencyPredictor, read_artifact


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_artifact_round_trips(tmp_path, mini_space, kind):
    path = tmp_path / "lat.pt"
    expected = write_tiny_artifact(path, mini_space, kind)
    predictor = LatencyPredictor.load(path, space=mini_space, task=MINI_TASK)
    archs = mini_space.sample(np.random.default_rng(0), 40)
    np.testing.assert_allclose(predictor.predict(archs), expected, rtol=1e-5)
    payload = read_artifact(path)
    assert payload["space"]["hash"] == mini_space.hash()
    assert payload["task"] == {"name": MINI_TASK.name, "vocab_size": MINI_TASK.vocab_size}
    assert payload["hardware"]["device"] == "cpu" and "threads" in payload["hardware"]
    assert payload["measurement"]["beam"] == 2
    # Without a space the stored one is rebuilt and gives the same predictions.
    np.testing.assert_allclose(LatencyPredictor.load(path).predict(archs), expected, rtol=1e-5)
    assert predictor.predict([]).shape == (0,)


def test_artifact_refuses_another_space(tmp_path, mini_space, paper_space):
    path = tmp_path / "lat.pt"
    write_tiny_artifact(path, mini_space)
    with pytest.raises(ConfigError, match="space=hat_mini") as err:
        LatencyPredictor.load(path, space=paper_space)
    assert "\n" not in str(err.value)


def test_artifact_refuses_another_task(tmp_path, mini_space):
    path = tmp_path / "lat.pt"
    write_tiny_artifact(path, mini_space)
    other = dataclasses.replace(MINI_TASK, name="wmt14_en_de", vocab_size=32768)
    with pytest.raises(ConfigError, match="task=synthetic_en_de") as err:
        LatencyPredictor.load(path, space=mini_space, task=other)
    assert "\n" not in str(err.value)


def test_corrupt_and_missing_files(tmp_path, mini_space):
    path = tmp_path / "lat.pt"
    write_tiny_artifact(path, mini_space)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="llmpp latency"):
        LatencyPredictor.load(path)
    path.write_text("not a checkpoint")
    with pytest.raises(CorruptFileError):
        LatencyPredictor.load(path)
    torch.save({"format": "something-else"}, path)
    with pytest.raises(CorruptFileError, match="not a latency predictor"):
        LatencyPredictor.load(path)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        LatencyPredictor.load(tmp_path / "missing.pt")


def test_unreadable_model_state_is_corrupt(tmp_path, mini_space):
    path = tmp_path / "lat.pt"
    write_tiny_artifact(path, mini_space, "mlp")
    payload = read_artifact(path)
    payload["model"]["state"]["state_dict"].pop("0.weight")
    with pytest.raises(CorruptFileError, match="unreadable"):
        LatencyPredictor(payload, source=str(path))
