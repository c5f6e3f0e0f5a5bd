"""Bad input, every stage: one line on stderr, exit code 2, no traceback, no result file.

One table of ``llmpp <stage> ...`` runs (in this process, through the console script's
entry: ``tests/cli_runner.py``), each with a mistake a user makes
(an invalid architecture, an unknown option, missing data, a missing key, a corrupt
cache / checkpoint / artifact). Cases the stage owners already test through the CLI
(tests/foundation/test_cli.py, tests/search, tests/distill, tests/hardware) are not
repeated here. Rows that start heavy work before failing are marked slow.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from cli_failure import LIGHTNING_NOISE, assert_clean_failure
from cli_runner import run_cli


@dataclass
class Files:
    """Broken inputs, made once per test in its tmp dir."""

    root: Path
    gold: Path

    def path(self, name: str) -> str:
        return str(self.root / name)

    def saved_run(self, stage: str, overrides: list[str]) -> str:
        """``<stage>_run`` holding the config a run with ``overrides`` saved (for resume=)."""
        from omegaconf import OmegaConf

        from llmpp.config import compose
        from llmpp.stages.resume import config_file

        run = self.root / f"{stage}_run"
        text = OmegaConf.to_yaml(compose(stage, overrides), resolve=True)
        (run / config_file(stage)).write_text(text)
        return str(run)


def make_files(tmp: Path, gold_root: Path) -> Files:
    tmp.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": {"w": torch.randn(64, 64)}, "hyper_parameters": {}}, tmp / "ok.ckpt")
    data = (tmp / "ok.ckpt").read_bytes()
    (tmp / "trunc.ckpt").write_bytes(data[: len(data) // 2])
    (tmp / "supernet_run" / "checkpoints").mkdir(parents=True)
    (tmp / "supernet_run" / "checkpoints" / "last.ckpt").write_bytes(data[: len(data) // 2])
    (tmp / "garbage.pt").write_bytes(b"\x00not a torch file\xff" * 40)
    (tmp / "replies.sqlite").write_bytes(b"this is not a database " * 100)
    (tmp / "labels.jsonl").write_text('{"arch": {"encoder-embed-dim": 640}, "pred"\n')
    (tmp / "bad_arch.yaml").write_text("encoder-embed-dim-subtransformer: 640\n")
    (tmp / "trunc.yaml").write_text("{not: yaml: [\n")
    for stage, name in (("latency", "latency_config.yaml"), ("search", "search_config.yaml")):
        (tmp / f"{stage}_run").mkdir()
        (tmp / f"{stage}_run" / name).write_text("{not: yaml: [\n")
    # A copy of the authors' data with one truncated gold file.
    gold = tmp / "gold"
    for part in ("train-test_seedarchs", "instruction_templates"):
        shutil.copytree(gold_root / part, gold / part)
    train = gold / "train-test_seedarchs/123/wmt14ende/train.jsonl"
    train.write_text(train.read_text()[:300])
    return Files(tmp, gold)


@dataclass
class Case:
    args: Callable[[Files, Path], list[str]]
    fragments: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    slow: bool = False


CASES: dict[str, Case] = {
    # describe / benchmark
    "describe-unknown-space": Case(lambda f, g: ["describe", "space=nope"], ("space=nope",),
                                   slow=True),
    "benchmark-corrupt-gold": Case(
        lambda f, g: ["benchmark", f"benchmark.root={f.gold}", "predictor=mean_demos"],
        ("train.jsonl", "SHA-256"),
    ),
    "benchmark-missing-key": Case(
        lambda f, g: ["benchmark", "predictor=llm_pp", "llm=openai", f"benchmark.root={g}"],
        ("OPENAI_API_KEY",),
    ),
    "benchmark-truncated-distill-ckpt": Case(
        lambda f, g: ["benchmark", "predictor=llm_distill",
                      f"predictor.checkpoint={f.path('trunc.ckpt')}", f"benchmark.root={g}"],
        ("trunc.ckpt", "Distill-PP checkpoint"), slow=True,
    ),
    # label
    "label-unknown-llm": Case(lambda f, g: ["label", "llm=nope"], ("llm=nope: no such option",)),
    "label-missing-key": Case(
        lambda f, g: ["label", "llm=openai", f"benchmark.root={g}", "limit=2"],
        ("OPENAI_API_KEY",),
    ),
    "label-corrupt-llm-cache": Case(
        lambda f, g: ["label", "llm=openai", "llm.base_url=http://127.0.0.1:9",
                      "llm.max_retries=0", f"predictor.cache={f.path('replies.sqlite')}",
                      f"benchmark.root={g}", "limit=2"],
        ("replies.sqlite", "unreadable"),
        env={"OPENAI_API_KEY": "sk-test-not-a-key"},
    ),
    "label-unknown-pool": Case(
        lambda f, g: ["label", "pool=nope", f"benchmark.root={g}"], ("pool",),
        slow=True,
    ),
    "label-missing-data-offline": Case(
        lambda f, g: ["label", "benchmark.mirror=http://127.0.0.1:9", "llm=openai_compatible",
                      "llm.base_url=http://127.0.0.1:9", "llm.model=x"],
        ("benchmark.root=",), slow=True,
    ),
    "label-corrupt-gold": Case(
        lambda f, g: ["label", f"benchmark.root={f.gold}", "llm=openai", "limit=2"],
        ("SHA-256",), env={"OPENAI_API_KEY": "sk-test-not-a-key"}, slow=True,
    ),
    # distill
    "distill-missing-labels": Case(
        lambda f, g: ["distill", f"labels={f.path('nope.jsonl')}"], ("does not exist",),
    ),
    "distill-corrupt-labels": Case(
        lambda f, g: ["distill", f"labels={f.path('labels.jsonl')}"], ("not valid JSON",),
        slow=True,
    ),
    # supernet
    "supernet-unknown-trainer": Case(lambda f, g: ["supernet", "trainer=nope"], ("trainer=nope",),
                                     slow=True),
    "supernet-truncated-resume-ckpt": Case(
        lambda f, g: ["supernet", "logger=none", "trainer.max_steps=1", "resume="
                      + f.saved_run("supernet", ["logger=none", "trainer.max_steps=1"])],
        ("last.ckpt", "not a readable checkpoint"),
    ),
    "supernet-unknown-eval-arch": Case(
        lambda f, g: ["supernet", "eval_archs=[medium]", "logger=none"],
        ("eval_archs", "medium"), slow=True,
    ),
    "supernet-wmt-offline": Case(
        lambda f, g: ["supernet", "task=wmt14_en_de", "space=hat_space0", "logger=none"],
        ("task.data.data_dir",), slow=True,
    ),
    # latency
    "latency-unknown-model": Case(
        lambda f, g: ["latency", "fit.model=nope"], ("fit.model='nope'",),
    ),
    "latency-corrupt-resume-config": Case(
        lambda f, g: ["latency", f"resume={f.path('latency_run')}"], ("latency_config.yaml",),
        slow=True,
    ),
    "latency-cuda-without-gpu": Case(
        lambda f, g: ["latency", "hardware=cuda"], ("needs CUDA",), slow=True,
    ),
    # search
    "search-unknown-algorithm": Case(lambda f, g: ["search", "search=nope"], ("search=nope",),
                                     slow=True),
    "search-truncated-checkpoints": Case(
        lambda f, g: ["search", "logger=none",
                      f"search.supernet_checkpoint={f.path('trunc.ckpt')}",
                      f"search.distill_checkpoint={f.path('trunc.ckpt')}"],
        ("trunc.ckpt",),
    ),
    "search-garbage-latency-artifact": Case(
        lambda f, g: ["search", "logger=none", "constraint=latency",
                      f"hardware.latency_predictor={f.path('garbage.pt')}",
                      f"search.supernet_checkpoint={f.path('trunc.ckpt')}",
                      f"search.distill_checkpoint={f.path('trunc.ckpt')}"],
        ("garbage.pt", "latency predictor"), slow=True,
    ),
    "search-non-numeric-limit": Case(
        lambda f, g: ["search", "logger=none", "constraint=gflops", "constraint.limit=abc"],
        ("constraint.limit",), slow=True,
    ),
    "search-corrupt-resume-config": Case(
        lambda f, g: ["search", f"resume={f.path('search_run')}"], ("search_config.yaml",),
        slow=True,
    ),
    # retrain
    "retrain-invalid-arch": Case(
        lambda f, g: ["retrain", f"arch={f.path('bad_arch.yaml')}", "logger=none"],
        ("missing the key",),
    ),
    "retrain-corrupt-arch-yaml": Case(
        lambda f, g: ["retrain", f"arch={f.path('trunc.yaml')}", "logger=none"],
        ("not valid YAML",), slow=True,
    ),
    "retrain-truncated-supernet-ckpt": Case(
        lambda f, g: ["retrain", "n_archs=2", "logger=none", "trainer.max_steps=1",
                      f"supernet_checkpoint={f.path('trunc.ckpt')}"],
        ("trunc.ckpt",), slow=True,
    ),
    # run
    "run-unknown-constraint": Case(lambda f, g: ["run", "constraint=nope"], ("constraint=nope",),
                                   slow=True),
    "run-missing-key": Case(
        lambda f, g: ["run", "llm=openai", f"run.artifacts={f.path('art')}"], ("OPENAI_API_KEY",),
    ),
}


def llmpp(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run_cli(args, cwd=cwd, env=env, unset=["OPENAI_API_KEY"])


PARAMS = [
    pytest.param(name, marks=[pytest.mark.slow] if case.slow else [], id=name)
    for name, case in CASES.items()
]


@pytest.mark.parametrize("name", PARAMS)
def test_bad_input_is_one_line_and_exit_2(name, tmp_path, gold_root) -> None:
    case = CASES[name]
    files = make_files(tmp_path / "inputs", gold_root)
    run = tmp_path / "run"
    proc = llmpp([*case.args(files, gold_root), f"hydra.run.dir={run}"], tmp_path, case.env)
    assert_clean_failure(proc, run, case.fragments, noise=LIGHTNING_NOISE)


def test_run_with_a_corrupt_stage_result_is_one_line(tmp_path) -> None:
    from llmpp.config import compose
    from llmpp.pipeline.plan import content_config, step_config
    from llmpp.pipeline.store import StageStore
    from llmpp.registry import steps

    overrides = [f"run.artifacts={tmp_path / 'art'}", "logger=none"]
    cfg = compose("run", overrides)
    done = StageStore(cfg.run.artifacts).dir_for(
        "supernet", content_config(step_config(cfg, steps()[0], {}))
    )
    done.mkdir(parents=True)
    (done / "result.json").write_text('{"checkpoint": ')  # killed mid-write by another tool
    run = tmp_path / "run"
    proc = llmpp(["run", *overrides, f"hydra.run.dir={run}"], tmp_path, {})
    assert_clean_failure(proc, run, ("result.json", "is corrupt", "delete"), noise=LIGHTNING_NOISE)
    assert (done / "result.json").is_file(), "the user's file is left for them to inspect"
