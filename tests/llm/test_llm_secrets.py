"""API keys come from the environment and never reach the run dir."""

from pathlib import Path

import pytest
from cli_runner import run_cli

from llmpp.testing.fake_llm_server import FakeLLMServer

SECRET = "sk-test-LLMPP-SECRET-0123456789abcdef"


def test_key_is_used_but_never_written(tmp_path, gold_root):
    run_dir = tmp_path / "run"
    env = {
        "OPENAI_API_KEY": SECRET,
        "LLMPP_CACHE_DIR": str(tmp_path / "cache"),
        "WANDB_MODE": "offline",
        "WANDB_DIR": str(run_dir),
    }
    with FakeLLMServer() as srv:
        command = [
            "benchmark",
            "predictor=llm_pp",
            "llm=openai",
            f"llm.base_url={srv.base_url}",
            "llm.model=fake",
            "llm.timeout=10",
            "task=wmt14_en_de",
            f"benchmark.root={gold_root}",
            "plots=false",
            "benchmark.seeds=[123]",
            "predictor.progress=false",
            f"hydra.run.dir={run_dir}",
        ]
        done = run_cli(command, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        authorizations = {h.get("Authorization") or h.get("authorization") for h in srv.headers}
    assert authorizations == {f"Bearer {SECRET}"}, "the key from the environment must be sent"
    assert SECRET not in done.stdout + done.stderr
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert any(p.name == "config.yaml" for p in files) and (run_dir / "benchmark.json").is_file()
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), f"the API key leaked into {path}"
    assert "oc.env" not in (run_dir / ".hydra" / "config.yaml").read_text()


def test_configs_never_interpolate_keys():
    conf = Path(__file__).resolve().parents[2] / "conf"
    for path in [*(conf / "llm").glob("*.yaml"), conf / "predictor" / "llm_pp.yaml"]:
        text = path.read_text()
        assert "oc.env" not in text and "api_key:" not in text, path


def test_missing_key_is_one_config_error_before_any_work(tmp_path, gold_root, compose):
    from llmpp.errors import ConfigError
    from llmpp.stages.benchmark import run_benchmark

    cfg = compose("benchmark", ["predictor=llm_pp", "llm=openai", f"benchmark.root={gold_root}"])
    with pytest.raises(ConfigError, match="export OPENAI_API_KEY") as info:
        run_benchmark(cfg, tmp_path / "run")
    assert "\n" not in str(info.value)
