"""The console script: stages, JSON outputs, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cli_runner import run_cli

from llmpp import cli

ROOT = Path(__file__).resolve().parents[2]


def llmpp(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """``llmpp *args`` in this process (the subprocess tests below cover the real script)."""
    return run_cli(args, cwd=cwd, env=env)


def llmpp_process(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``llmpp *args`` as a user starts it: a fresh interpreter running the console entry."""
    return subprocess.run([sys.executable, "-m", "llmpp.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env=dict(os.environ), timeout=120)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_benchmark_task_all_writes_json_and_plots(tmp_path, gold_root) -> None:
    run = tmp_path / "run"
    proc = llmpp(
        "benchmark",
        "predictor=recorded",
        "predictor.column=Neuron-wise MoS",
        "task=all",
        f"benchmark.root={gold_root}",
        f"hydra.run.dir={run}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| wmt14_en_de | 0.87 ± 0.02 | 0.79 ± 0.02 |" in proc.stdout
    payload = json.loads((run / "benchmark.json").read_text())
    assert payload["predictor"] == "recorded[Neuron-wise MoS]"
    assert payload["protocol"]["seeds"] == [123, 456, 789]
    assert (payload["protocol"]["demos"], payload["protocol"]["test"]) == (10, 20)
    assert set(payload["tasks"]) == {"wmt14_en_de", "wmt14_en_fr", "wmt19_en_de"}
    task = payload["tasks"]["wmt14_en_fr"]
    assert {"mae", "kendall", "spearman", "precision_at_5", "seeds"} <= set(task)
    assert round(task["mae"]["mean"], 2) == 1.18
    seed = task["seeds"]["456"]
    assert {"mae", "kendall", "predictions"} <= set(seed)
    assert set(seed["predictions"][0]) == {"arch", "gold", "pred"}
    assert set(payload["cost"]) >= {
        "llm_calls",
        "cache_hits",
        "failures",
        "prompt_tokens",
        "completion_tokens",
        "usd",
    }
    assert payload["wall_seconds"] > 0
    for name in payload["tasks"]:
        assert (run / f"scatter_{name}.png").stat().st_size > 1000
    assert (run / ".hydra" / "config.yaml").is_file()


def test_describe_prints_metrics(tmp_path, gold_root) -> None:
    record = json.loads(
        (gold_root / "train-test_seedarchs/123/wmt14ende/train.jsonl").read_text().splitlines()[0]
    )
    from llmpp.space import Architecture

    arch = Architecture.from_arch_info(record["scratch"]["arch_info"])
    path = tmp_path / "arch.yaml"
    path.write_text(yaml.safe_dump(arch.to_hat()))
    proc = llmpp("describe", f"arch={path}", "task=wmt14_en_de", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    metrics = payload["metrics"]
    assert (
        metrics["num_parameters_without_embedding_weights"]
        == record["scratch"]["num_parameters_without_embedding_weights"]
    )
    assert metrics["gflops"] == pytest.approx(record["scratch"]["total_flops"] / 1e9, rel=1e-3)
    assert payload["space"] == "hat_space0"
    assert list(tmp_path.iterdir()) == [path], "describe must not write files"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("encoder-embed-dim-subtransformer: 640\n", "missing the key"),
        ("{not: yaml: [", "not valid YAML"),
    ],
)
def test_describe_rejects_invalid_files(tmp_path, content, fragment) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    assert_one_line_error(llmpp("describe", f"arch={path}", cwd=tmp_path), fragment)


def test_describe_names_the_out_of_space_value(tmp_path, paper_space) -> None:
    config = paper_space.largest().to_hat()
    config["encoder-self-attention-heads-all-subtransformer"] = [8, 8, 16, 8, 8, 8]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    assert_one_line_error(
        llmpp("describe", f"arch={path}", cwd=tmp_path),
        "encoder-self-attention-heads-all-subtransformer[2] = 16",
        "allowed values: 8, 4",
    )


def test_describe_missing_file(tmp_path) -> None:
    assert_one_line_error(llmpp("describe", "arch=nope.yaml", cwd=tmp_path), "does not exist")


def test_bad_overrides_are_one_line(tmp_path) -> None:
    assert_one_line_error(llmpp("benchmark", "predictor=nope", cwd=tmp_path),
                          "predictor=nope: no such option")
    assert_one_line_error(llmpp("benchmark", "benchmark.nope=1", cwd=tmp_path), "benchmark.nope")
    assert_one_line_error(llmpp("frobnicate", cwd=tmp_path), "unknown stage 'frobnicate'")
    assert not (tmp_path / "outputs").exists()


def test_console_script_errors_are_one_line_in_a_fresh_process(tmp_path) -> None:
    """The real process: interpreter start-up, imports and exit code, not only ``main``."""
    assert_one_line_error(llmpp_process("benchmark", "predictor=nope", cwd=tmp_path),
                          "predictor=nope")
    assert_one_line_error(llmpp_process("describe", "arch=nope.yaml", cwd=tmp_path),
                          "does not exist")
    assert not (tmp_path / "outputs").exists()


def test_missing_data_offline_is_one_line_and_writes_no_result(tmp_path) -> None:
    run = tmp_path / "run"
    proc = llmpp(
        "benchmark",
        "benchmark.mirror=http://127.0.0.1:9",
        f"hydra.run.dir={run}",
        cwd=tmp_path,
        env={"LLMPP_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert_one_line_error(proc, "connect to the network", "benchmark.root=")
    assert not (run / "benchmark.json").exists()


def test_bad_predictor_option_is_one_line(tmp_path, gold_root) -> None:
    proc = llmpp(
        "benchmark",
        "predictor=linear",
        "predictor.feature=colour",
        f"benchmark.root={gold_root}",
        f"hydra.run.dir={tmp_path / 'r'}",
        cwd=tmp_path,
    )
    assert_one_line_error(proc, "predictor.feature='colour'")


def test_unavailable_stage_and_usage(monkeypatch, capsys) -> None:
    from llmpp import registry

    monkeypatch.setattr(registry, "_STAGES", dict(registry._STAGES))
    registry.register(registry.StageSpec("teleport", "not a real stage", "-"))
    assert cli.main(["teleport"]) == 2
    assert "not available" in capsys.readouterr().err
    assert cli.main(["--help"]) == 0
    assert "benchmark" in capsys.readouterr().out
    assert cli.main([]) == 2
