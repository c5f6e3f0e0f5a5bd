"""One resume policy (llmpp.stages.resume): the rules, the slot, and a kill + resume of
the training stages and of data. Label, latency and search have theirs beside their
stage tests (tests/llm/test_label_stage.py, tests/hardware/test_latency_stage.py,
tests/search/test_search_resume.py); all go through the same function."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from llmpp.errors import ConfigError
from llmpp.registry import stages
from llmpp.stages import resume
from llmpp.stages.resume import config_file, continue_run
from llmpp.testing.interrupt import SimulatedKill

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "supernet"))
from helpers_supernet import TINY_TASK  # noqa: E402

LONG = {"supernet", "retrain", "label", "latency", "search", "data"}


def _cfg(**values):
    return OmegaConf.create({"seed": 0, "resume": None, "logger": None, "n": 3, **values})


# ---- the rules ------------------------------------------------------------------------------
def test_a_fresh_run_saves_its_config_and_a_rerun_with_it_continues(tmp_path) -> None:
    cfg, out = continue_run(_cfg(), tmp_path, "toy")
    assert out == tmp_path and OmegaConf.load(tmp_path / config_file("toy")).n == 3
    # The logger is run-only: another one does not make it another run.
    again, out = continue_run(_cfg(logger={"_target_": "x.Logger"}), tmp_path, "toy")
    assert out == tmp_path and again.logger._target_ == "x.Logger"


def test_a_rerun_in_the_same_dir_with_other_settings_is_refused(tmp_path) -> None:
    continue_run(_cfg(), tmp_path, "toy")
    with pytest.raises(ConfigError, match=r"holds a toy run with other settings \(n differ\).*"
                       r"resume="):
        continue_run(_cfg(n=4), tmp_path, "toy")


def test_resume_continues_with_the_saved_settings_in_the_saved_dir(tmp_path) -> None:
    continue_run(_cfg(n=7), tmp_path / "first", "toy")
    cfg, out = continue_run(_cfg(resume=str(tmp_path / "first"), logger={"a": 1}),
                            tmp_path / "second", "toy")
    assert out == tmp_path / "first" and cfg.n == 7 and cfg.logger == {"a": 1}
    assert cfg.resume == str(tmp_path / "first") and not (tmp_path / "second").exists()


def test_resume_of_a_dir_without_a_saved_config_is_refused(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"resume=.* is not a toy run dir \(no toy_config"):
        continue_run(_cfg(resume=str(tmp_path)), tmp_path / "x", "toy")


def test_an_override_beside_resume_that_changes_the_run_is_refused(tmp_path,
                                                                   monkeypatch) -> None:
    continue_run(_cfg(n=7), tmp_path, "toy")
    monkeypatch.setattr(resume, "command_line_keys", lambda: ["n"])
    continue_run(_cfg(resume=str(tmp_path), n=7), tmp_path / "x", "toy")  # the same: fine
    with pytest.raises(ConfigError, match=r"n=8 \(saved: 7\) would change them"):
        continue_run(_cfg(resume=str(tmp_path), n=8), tmp_path / "x", "toy")


def test_the_cli_names_an_override_beside_resume(tmp_path, compose, capsys,
                                                 monkeypatch) -> None:
    from llmpp import cli

    continue_run(compose("latency"), tmp_path / "first", "latency")
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["latency", f"resume={tmp_path / 'first'}", "n_archs=5",
                  f"hydra.run.dir={tmp_path / 'run'}"])
    assert exit_info.value.code == 2
    assert "n_archs=5 (saved: 150) would change them" in capsys.readouterr().err


def test_the_resume_slot_is_offered_exactly_where_it_is_honoured(compose) -> None:
    honoured = {name for name, spec in stages().items() if spec.resume}
    assert honoured == LONG
    for name, spec in stages().items():
        assert ("resume" in compose(spec.config)) == spec.resume, name


# ---- kill and resume, per stage -------------------------------------------------------------
def _kill_once(tmp_path: Path, at_step: int) -> list[str]:
    return [f"+callbacks.kill._target_={'llmpp.testing.interrupt.KillOnce'}",
            f"+callbacks.kill.at_step={at_step}", f"+callbacks.kill.marker={tmp_path / 'killed'}",
            "callbacks.checkpoint.every_n_train_steps=2"]


@pytest.mark.slow  # about 20 s on two busy cores: a training, killed, and its resume
def test_supernet_killed_mid_training_resumes_from_its_checkpoint(compose, tmp_path) -> None:
    from llmpp.stages.supernet import run_supernet

    run = tmp_path / "run"
    cfg = compose("supernet", [*TINY_TASK, "trainer.max_steps=4", "trainer.val_check_interval=4",
                               "eval_bleu_limit=1", "eval_archs=[smallest]",
                               *_kill_once(tmp_path, 3)])
    with pytest.raises(SimulatedKill):
        run_supernet(cfg, run)
    assert (run / "checkpoints" / "last.ckpt").is_file() and not (run / "supernet.json").exists()
    done = run_supernet(compose("supernet", [f"resume={run}"]), tmp_path / "ignored")
    assert done.resumed_from == str(run / "checkpoints" / "last.ckpt") and done.steps == 4
    assert (run / "supernet.json").is_file() and not (tmp_path / "ignored").exists()


@pytest.mark.slow  # two trainings, one killed and resumed
def test_retrain_list_killed_mid_training_resumes_the_architecture_it_was_on(
        compose, tmp_path, monkeypatch) -> None:
    import llmpp.stages.retrain as retrain

    resumed_from = []
    original = retrain.resume_path
    monkeypatch.setattr(retrain, "resume_path",
                        lambda d: resumed_from.append(original(d)) or resumed_from[-1])
    run = tmp_path / "run"
    cfg = compose("retrain", [*TINY_TASK, "n_archs=2", "trainer.max_steps=4",
                              "trainer.val_check_interval=4", "eval_bleu_limit=1",
                              *_kill_once(tmp_path, 3)])
    with pytest.raises(SimulatedKill):
        retrain.run_retrain(cfg, run)
    assert resumed_from == [None]
    done = retrain.run_retrain(compose("retrain", [f"resume={run}"]), tmp_path / "ignored")
    assert resumed_from[1].endswith("last.ckpt") and resumed_from[2] is None
    assert [r["steps"] for r in done.results] == [4, 4]


def test_data_killed_mid_build_resumes_and_builds_the_corpus(compose, tmp_path,
                                                             monkeypatch) -> None:
    import llmpp.data.build as build
    from llmpp.stages.data import run_data

    original = build.encode_all

    def dies(*args, **kwargs):
        monkeypatch.setattr(build, "encode_all", original)  # the resumed run builds through
        raise SimulatedKill("killed while encoding")

    monkeypatch.setattr(build, "encode_all", dies)
    tiny = ["task=synthetic_en_de", "task.vocab_size=200",
            "task.data.sizes={train: 300, valid: 20, test: 20}", "build.workers=1"]
    with pytest.raises(SimulatedKill):
        run_data(compose("data_stage", tiny), tmp_path / "run")
    done = run_data(compose("data_stage", [f"resume={tmp_path / 'run'}"]), tmp_path / "x")
    assert done["synthetic_en_de"]["splits"]["train"]["pairs"] == 300
    assert (tmp_path / "run" / "data.json").is_file()


def test_a_pipeline_step_has_the_resume_slot_only_if_its_stage_honours_it(compose) -> None:
    from llmpp.pipeline.plan import step_config
    from llmpp.registry import steps

    run_cfg = compose("run")
    for step in steps():
        cfg = step_config(run_cfg, step, {})
        assert ("resume" in cfg) == stages()[step.stage].resume, step.name
