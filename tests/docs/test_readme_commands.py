"""Every shell command the README shows runs as written on a fresh clone.

The README's ```bash blocks are read here; each command must appear in ``HOW`` with
the way it is checked, so a command added to the README without a way to check it
fails ``test_every_readme_command_has_a_check``. Placeholders a user fills in
(``<ckpt>``, ``my_arch.yaml``, ``http://host:8000/v1``) are replaced by real files and
a loopback server; nothing else in the command changes, except that a command whose
real run trains for many minutes gets a smoke budget appended (the command line has
the last word, so the user's own overrides are still the ones checked).

Fast tier: every ``llmpp`` command composes and passes the CLI's config check (what a
typo in the README breaks), and the cheap ones run. The ``slow`` tier runs the rest
that need no key, GPU or network. Skipped, by name and why: see ``SKIPPED``.
"""

from __future__ import annotations

import re
import runpy
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from cli_runner import run_cli

from llmpp import registry
from llmpp.cli import check_overrides
from llmpp.testing.fake_llm_server import FakeLLMServer

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def readme_commands(text: str) -> list[str]:
    """The commands of the README's ```bash blocks: comments dropped, ``\\`` lines joined;
    in a block written as a transcript only the ``$ `` lines, without the prompt."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", "", block)
        prompted = any(line.startswith("$ ") for line in joined.splitlines())
        for line in joined.splitlines():
            line = line.strip()
            if prompted:  # a transcript: commands carry the prompt, the rest is output
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            line = re.sub(r"\s+#.*$", "", line) if not line.startswith("#") else ""
            if line:
                commands.append(line)
    return commands


# Commands not run, and why (a key, a GPU, the network, or the whole suite itself).
SKIPPED = {
    "make test": "runs this test suite (the README test would run itself)",
    "make demo": "the whole `llmpp run` on the demo budget (15+ minutes); the same pipeline "
                 "runs on the smoke budget in tests/pipeline/test_pipeline_run.py",
    "llmpp benchmark predictor=llm_pp llm=openai llm.model=gpt-4o task=all":
        "needs OPENAI_API_KEY and the network",
    "llmpp benchmark predictor=llm_pp llm=azure llm.model=<deployment> "
    "llm.endpoint=<https://...>": "needs AZURE_OPENAI_API_KEY and the network",
    "llmpp supernet task=synthetic_en_de space=hat_mini trainer.max_steps=2000 "
    "trainer.devices=2": "two-process DDP training: covered on the smoke budget by the DDP "
                         "tests of tests/supernet (slow tier)",
    "wandb sync multirun/benchmark/<time>/*/wandb/offline-run-*":
        "uploads to W&B's servers: needs an account and the network",
}


@dataclass(frozen=True)
class How:
    """How one README command is checked.

    Args:
        run: "fast" (runs in the default tier), "slow" (runs in the slow tier), or
            "compose" (only its config is composed and checked: its real run trains for
            many minutes and the smoke-budget equivalent is tested elsewhere, named in
            ``why``).
        smoke: overrides appended to keep a long run short.
        why: for "compose": where the same code runs on a smoke budget.
    """

    run: str
    smoke: tuple[str, ...] = ()
    why: str = ""


SEARCH_SMOKE = ("search.iterations=1", "search.population_size=4", "search.parents=2",
                "search.mutations=1", "search.crossovers=1")

HOW: dict[str, How] = {
    '.venv/bin/llmpp benchmark predictor=recorded predictor.column="Neuron-wise MoS" task=all':
        How("slow"),
    'llmpp benchmark predictor=recorded predictor.column="Neuron-wise MoS" task=all':
        How("slow"),
    "llmpp benchmark experiment=bench_hat": How("slow"),
    "llmpp benchmark predictor=calibrated predictor.base.column=HAT task=wmt19_en_de":
        How("slow"),
    "llmpp describe arch=my_arch.yaml task=wmt14_en_de space=hat_space0": How("fast"),
    "llmpp benchmark predictor=llm_pp llm=openai_compatible llm.base_url=http://host:8000/v1 "
    "llm.model=<name>": How("slow"),
    "llmpp benchmark predictor=llm_pp llm=local task=all": How(
        "compose", why="180 queries to the local LLM (~48 min); the local server's own tests "
        "(tests/llm/test_llm_local.py, slow) and the preset smoke test run it"),
    "python benchmarks/predictor_table.py --root ../shared/llmas/data": How("slow"),
    "llmpp benchmark -m +sweep=predictor_table benchmark.root=../shared/llmas/data":
        How("slow"),
    "llmpp report multirun/benchmark/<time> outputs/search/<time>": How("slow"),
    "llmpp search search=evolution constraint=latency constraint.limit=20 "
    "hardware.latency_predictor=<latency run dir>/latency_predictor.pt "
    "search.supernet_checkpoint=<supernet run dir>/checkpoints/last.ckpt "
    "search.distill_checkpoint=<distill run dir>/distill.ckpt": How(
        "compose", why="tests/search/test_search_stage.py and the latency constraint tests"),
    "llmpp supernet callbacks=search search=hs_nas search.distill_checkpoint=<distill.ckpt> "
    "constraint=gflops constraint.limit=0.06": How(
        "compose", why="tests/search/test_search_callback.py trains with the callback"),
    "llmpp supernet resume=<supernet run dir>": How(
        "compose", why="tests/supernet/test_supernet_stage.py resumes a killed run"),
    "llmpp search experiment=hsnas_fast search.supernet_checkpoint=<ckpt> "
    "search.distill_checkpoint=<ckpt> constraint=gflops constraint.limit=0.06": How(
        "compose", why="tests/presets/test_presets_smoke.py runs every preset"),
    "llmpp run search.iterations=20 constraint=params constraint.limit=2e6": How(
        "compose", why="tests/pipeline/test_pipeline_run.py runs the pipeline"),
    "llmpp run supernet.trainer.max_steps=300 gold.n_archs=8 label.n_archs=32 "
    "model=neuron_mos": How("compose", why="tests/pipeline/test_pipeline_run.py"),
    "llmpp run experiment=run_smoke search.iterations=3": How(
        "compose", why="tests/pipeline/test_pipeline_run.py runs experiment=run_smoke"),
}


def test_every_readme_command_has_a_check() -> None:
    commands = readme_commands(README.read_text())
    assert commands, "no ```bash blocks found in the README"
    unknown = [c for c in commands if c not in HOW and c not in SKIPPED]
    assert not unknown, f"README commands with no check in this file: {unknown}"
    stale = [c for c in [*HOW, *SKIPPED] if c not in commands]
    assert not stale, f"commands no longer in the README: {stale}"


def test_readme_commands_are_read_whole() -> None:
    text = "```bash\nllmpp a \\\n  b=1   # note\n# only a comment\nmake x\n```\n"
    assert readme_commands(text) == ["llmpp a b=1", "make x"]
    transcript = "```bash\n$ llmpp a \\\n  b=1\n| output | row |\n$ make x\n```\n"
    assert readme_commands(transcript) == ["llmpp a b=1", "make x"]


def _fill(command: str, tmp: Path, gold: Path, server_url: str) -> list[str]:
    """The command's argv with the user's placeholders replaced by real paths."""
    subst = {
        "../shared/llmas/data": gold,
        "http://host:8000/v1": server_url,
        "<name>": "fake",
        "<latency run dir>": tmp / "latency",
        "<supernet run dir>": tmp / "supernet",
        "<distill run dir>": tmp / "distill",
        "<distill.ckpt>": tmp / "distill" / "distill.ckpt",
        "<ckpt>": tmp / "model.ckpt",
        "multirun/benchmark/<time>": tmp / "runs" / "one",
        "outputs/search/<time>": tmp / "runs" / "two",
    }
    for key, value in subst.items():
        command = command.replace(key, shlex.quote(str(value)))
    return shlex.split(command)


def _llmpp_args(argv: list[str]) -> list[str]:
    assert Path(argv[0]).name == "llmpp", argv
    return argv[1:]


def _params(kind: str) -> list:
    return [pytest.param(c, id=c[:60]) for c, how in HOW.items() if how.run == kind]


@pytest.mark.parametrize("command", [pytest.param(c, id=c[:60]) for c in HOW
                                     if c.split()[0].endswith("llmpp")])
def test_readme_command_composes(command, tmp_path, gold_root) -> None:
    args = _llmpp_args(_fill(command, tmp_path, gold_root, "http://127.0.0.1:9/v1"))
    stage, overrides = args[0], [a for a in args[1:] if not a.startswith("-")]
    if stage == "report":
        from llmpp.report.cli_args import positional_dirs_to_overrides

        overrides = positional_dirs_to_overrides(overrides)
    assert check_overrides(registry.stage(stage), overrides) is None, command


@pytest.fixture
def user_files(tmp_path, gold_root, paper_space) -> Path:
    """What the user has beside them: an architecture file and a finished benchmark run."""
    (tmp_path / "my_arch.yaml").write_text(yaml.safe_dump(paper_space.largest().to_hat()))
    return tmp_path


def _run(command: str, tmp_path: Path, gold_root: Path, monkeypatch, capsys):
    how = HOW[command]
    with FakeLLMServer() as server:
        argv = _fill(command, tmp_path, gold_root, server.base_url)
        if argv[0] == "python":  # a script: run its file as `python` would, from the checkout
            monkeypatch.chdir(ROOT)
            monkeypatch.setattr(sys, "argv", argv[1:])
            with pytest.raises(SystemExit) as done:
                runpy.run_path(str(ROOT / argv[1]), run_name="__main__")
                raise SystemExit(0)
            out = capsys.readouterr()
            return done.value.code or 0, out.out, out.err
        env = {"LLMPP_BENCHMARK_ROOT": str(gold_root), "OPENAI_API_KEY": "sk-test-fake"}
        proc = run_cli([*_llmpp_args(argv), *how.smoke], cwd=tmp_path, env=env)
        return proc.returncode, proc.stdout, proc.stderr


def _check_run(command, tmp_path, gold_root, monkeypatch, capsys) -> None:
    if command.startswith("llmpp report"):  # needs finished runs to compare
        for name, preset in (("one", "bench_hat"), ("two", "bench_mean_demos")):
            done = run_cli(["benchmark", f"experiment={preset}", f"benchmark.root={gold_root}",
                            "logger=none", "plots=false",
                            f"hydra.run.dir={tmp_path / 'runs' / name}"], cwd=tmp_path)
            assert done.returncode == 0, done.stderr[-2000:]
    code, out, err = _run(command, tmp_path, gold_root, monkeypatch, capsys)
    assert code == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]


@pytest.mark.parametrize("command", _params("fast"))
def test_readme_command_runs(command, user_files, gold_root, monkeypatch, capsys) -> None:
    _check_run(command, user_files, gold_root, monkeypatch, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("command", _params("slow"))
def test_readme_command_runs_slow(command, user_files, gold_root, monkeypatch, capsys) -> None:
    _check_run(command, user_files, gold_root, monkeypatch, capsys)
