"""One naming scheme: stage-task-<what varies>, grouped by sweep dir, in and out of Hydra."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from llmpp.tracking.run_names import MAX_VALUE, _short, stage_run_names

APP = textwrap.dedent("""
    import json, hydra
    from llmpp.tracking.run_names import stage_run_names

    @hydra.main(version_base="1.3", config_path="conf", config_name="main")
    def main(cfg):
        print("NAMES", json.dumps(stage_run_names("benchmark", "wmt14_en_de")), flush=True)

    main()
""")


def run_app(tmp_path, *args: str) -> list[dict]:
    """Run a tiny Hydra app (a config group ``predictor``) and collect what it names."""
    (tmp_path / "conf" / "predictor").mkdir(parents=True)
    (tmp_path / "conf" / "main.yaml").write_text("defaults:\n  - predictor: a\n  - _self_\n")
    for option in "ab":
        (tmp_path / "conf" / "predictor" / f"{option}.yaml").write_text(f"kind: {option}\n")
    (tmp_path / "app.py").write_text(APP)
    done = subprocess.run([sys.executable, "app.py", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line.split(" ", 1)[1]) for line in done.stdout.splitlines()
            if line.startswith("NAMES ")]


def test_outside_hydra_a_run_is_named_by_stage_and_task():
    assert stage_run_names("latency", "synthetic_en_de") == {
        "job_type": "latency", "name": "latency-synthetic_en_de", "group": None}
    assert stage_run_names("search")["name"] == "search"


def test_multirun_jobs_are_named_by_what_the_sweep_varies(tmp_path):
    sweep = tmp_path / "preds-sweep"
    # The task is named by the stage already; where it logs says nothing about a run.
    names = run_app(tmp_path, "-m", "predictor=a,b", "+root=/data/gold", "+seed=1,2",
                    "+task=x,y", "+logger.name=u", f"hydra.sweep.dir={sweep}")
    assert sorted({n["name"] for n in names}) == [
        "benchmark-wmt14_en_de-predictor=a-seed=1", "benchmark-wmt14_en_de-predictor=a-seed=2",
        "benchmark-wmt14_en_de-predictor=b-seed=1", "benchmark-wmt14_en_de-predictor=b-seed=2",
    ]
    assert len(names) == 8
    assert {n["group"] for n in names} == {"preds-sweep"}
    assert {n["job_type"] for n in names} == {"benchmark"}


def test_a_single_run_is_named_by_the_options_chosen(tmp_path):
    (name,) = run_app(tmp_path, "predictor=b", "+root=/data/gold", f"hydra.run.dir={tmp_path}/r")
    assert name == {"job_type": "benchmark", "name": "benchmark-wmt14_en_de-predictor=b",
                    "group": None}


def test_long_values_keep_their_end():
    path = "/very/long/path/to/some/run/dir/with/labels/labels.jsonl"
    assert _short("linear") == "linear"
    assert len(_short(path)) == MAX_VALUE and _short(path).endswith("labels/labels.jsonl")


def test_an_override_holding_an_interpolation_is_named_not_resolved(tmp_path):
    # Hydra keeps the command line in its own config, where `${.x}` would be resolved
    # against the overrides list (and fail); the name takes the text as written.
    (name,) = run_app(tmp_path, "predictor=b", "+ref=${.kind}", "+other=${oc.env:HOME}",
                      f"hydra.run.dir={tmp_path}/r")
    assert name["name"] == "benchmark-wmt14_en_de-predictor=b"
