"""An unusable endpoint ends a batch at once, in one line; transient errors keep retrying."""

import socket
import time

import pytest

from llmpp.errors import EndpointError, PredictionsFailedError, UserError
from llmpp.llm.cache import ReplyCache
from llmpp.llm.client import LLMRunner
from llmpp.llm.endpoint import endpoint_error
from llmpp.llm.parse import parse_score
from llmpp.predictors.base import Demonstration, TaskContext
from llmpp.predictors.llm_pp import LLMPPPredictor
from llmpp.prompts.builder import PromptBuilder
from llmpp.task import TaskSpec, load_task_config
from llmpp.testing.fake_llm_server import FakeLLMServer, fast_backend


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def backend(base_url, **overrides):
    # A refused connection retried 5 times with this backoff would take seconds.
    return fast_backend(base_url, **{"max_retries": 5, "backoff_base": 0.5, "backoff_max": 2.0,
                                     **overrides})


def test_refused_connection_fails_at_once_naming_the_endpoint(tmp_path):
    url = closed_port_url()
    cache = ReplyCache(tmp_path / "c.sqlite")
    runner = LLMRunner(backend(url), cache)
    started = time.monotonic()
    with pytest.raises(EndpointError) as caught:
        runner.run([f"arch {i}" for i in range(20)], parse=parse_score)
    assert time.monotonic() - started < 1.5, "no retries for a refused connection"
    message = str(caught.value)
    assert url in message and "unreachable" in message and "llm.base_url" in message
    assert "\n" not in message and isinstance(caught.value, UserError)
    assert runner.meter.retries == 0 and len(cache) == 0


def test_dns_failure_is_unreachable(tmp_path):
    # ".invalid" never resolves (RFC 2606); the resolver answers from local config.
    runner = LLMRunner(backend("http://llmpp-test.invalid/v1"), ReplyCache(tmp_path / "c.sqlite"))
    with pytest.raises(EndpointError, match="unreachable"):
        runner.run(["arch A"], parse=parse_score)


@pytest.mark.parametrize(
    ("fault", "words"),
    [("401", "OPENAI_API_KEY"), ("403", "OPENAI_API_KEY"), ("404", "llm.model")],
)
def test_refused_key_or_unknown_model_fails_at_once(tmp_path, fault, words):
    with FakeLLMServer() as server:
        server.script([fault] * 50)
        runner = LLMRunner(backend(server.base_url), ReplyCache(tmp_path / "c.sqlite"))
        with pytest.raises(EndpointError) as caught:
            runner.run([f"arch {i}" for i in range(10)], parse=parse_score)
        assert server.total_requests <= 4, "one wave of concurrent requests at most"
    assert server.base_url in str(caught.value) and words in str(caught.value)
    assert f"({fault})" in str(caught.value)


def test_refused_connection_after_an_answer_is_transient(tmp_path):
    """A server restarting mid-run refuses connections for a moment: retry, don't stop."""
    url = closed_port_url()
    runner = LLMRunner(backend(url, max_retries=0), ReplyCache(tmp_path / "c.sqlite"))
    with pytest.raises(EndpointError):
        runner.run(["arch A"], parse=parse_score)
    # The same real error, once the endpoint has answered before, is left to the retries.
    runner._reached = True
    [result] = runner.run(["arch A"], parse=parse_score)
    assert "APIConnectionError" in result.samples[0].failure
    assert endpoint_error(ConnectionResetError("reset"), runner.backend, reached=False) is None


def test_transient_errors_keep_their_retries(tmp_path):
    with FakeLLMServer() as server:
        server.script(["500", "429", "drop"], prompt="arch A")
        runner = LLMRunner(
            backend(server.base_url, backoff_base=0.01, backoff_max=0.02),
            ReplyCache(tmp_path / "c.sqlite"),
        )
        [result] = runner.run(["arch A"], parse=parse_score)
    assert result.samples[0].failure is None and runner.meter.retries == 3


@pytest.fixture
def predictor_factory(tmp_path, paper_space, gold_root):
    from llmpp.gold.records import load_gold_split
    from llmpp.gold.source import GoldSource

    source = GoldSource(gold_root)
    demos = load_gold_split("wmt14ende", 123, "train", source=source)
    tests = load_gold_split("wmt14ende", 123, "test", source=source)
    task = TaskSpec.from_config(load_task_config("wmt14_en_de"))

    def make(base_url, **settings):
        predictor = LLMPPPredictor(
            llm=backend(base_url, backoff_base=0.01, backoff_max=0.02, **settings),
            prompt=PromptBuilder(),
            cache=str(tmp_path / "c.sqlite"),
            progress=False,
        )
        predictor.setup(TaskContext(task=task, space=paper_space, seed=123))
        predictor.fit([Demonstration(r.arch, r.score()) for r in demos])
        return predictor, [r.arch for r in tests]

    return make


def test_batch_where_every_prediction_failed_is_an_error(predictor_factory):
    with FakeLLMServer(answer=lambda prompt: "no idea") as server:
        predictor, archs = predictor_factory(server.base_url, max_reasks=0)
        with pytest.raises(PredictionsFailedError) as caught:
            predictor.predict(archs[:5])
    message = str(caught.value)
    assert "all 5 predictions" in message and server.base_url in message
    assert "no usable number" in message and "rerun" in message


def test_batch_with_one_answer_is_not_an_error(predictor_factory):
    answers = iter(["12.5"] + ["no idea"] * 100)
    with FakeLLMServer(answer=lambda prompt: next(answers)) as server:
        predictor, archs = predictor_factory(server.base_url, max_reasks=0, concurrency=1)
        labels = predictor.label(archs[:4])
    assert sum(label.prediction is not None for label in labels) == 1
