"""The report library on hand-written run dirs: discovery, labels, rows, Markdown, CSV, plots."""

from __future__ import annotations

import csv

import pytest
from report_payloads import benchmark_payload, search_payload

from llmpp.errors import CorruptFileError, DataNotFoundError
from llmpp.report import build_report, write_report
from llmpp.report.labels import parse_override, run_labels, varying_keys
from llmpp.report.plots import search_curves, search_plot
from llmpp.report.runs import find_runs

ROOT_OVERRIDE = "benchmark.root=/data/gold"


def _sweep(tmp_path, make_run, predictors=("linear", "mean_demos")):
    """A sweep dir as Hydra leaves it: one numbered subdir per job with its overrides."""
    sweep = tmp_path / "sweep"
    for num, name in enumerate(predictors):
        make_run(sweep / str(num), "benchmark.json", benchmark_payload(name, 1.0 + num, 0.5 - num),
                 [f"predictor={name}", "task=wmt14_en_de", ROOT_OVERRIDE,
                  f"hydra.sweep.dir={sweep}"])
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    return sweep


def test_rows_are_labelled_by_the_overrides_that_vary(tmp_path, make_run):
    report = build_report([_sweep(tmp_path, make_run)])
    rows = report.sections["benchmark"]
    assert [row["run"] for row in rows] == ["predictor=linear", "predictor=mean_demos"]
    assert report.varying == {"benchmark": ["predictor"]}
    assert [row["mae"]["mean"] for row in rows] == [1.0, 2.0]
    assert [row["kendall"]["mean"] for row in rows] == [0.5, -0.5]
    assert rows[0]["failures"] == 1


def test_parse_override_drops_prefixes_and_hydra_keys():
    assert parse_override("+predictor.alpha=2") == ("predictor.alpha", "2")
    assert parse_override("++seed=3") == ("seed", "3")
    assert parse_override("~logger") == ("logger", "~")
    assert parse_override("hydra.run.dir=/x") is None
    assert parse_override("hydra/launcher=slurm_cpu") is None
    assert parse_override("not an override") is None


def test_a_key_absent_from_some_runs_varies(tmp_path, make_run):
    a = make_run(tmp_path / "a", "benchmark.json", benchmark_payload("x", 1, 0), ["seed=1"])
    b = make_run(tmp_path / "b", "benchmark.json", benchmark_payload("y", 1, 0),
                 ["seed=1", "predictor.alpha=2"])
    runs = find_runs([a, b])
    assert varying_keys(runs) == ["predictor.alpha"]
    assert run_labels(runs) == ["a", "predictor.alpha=2"]


def test_runs_without_varying_overrides_are_labelled_by_dir(tmp_path, make_run):
    a = make_run(tmp_path / "runs" / "a", "distill.json", {"heldout": {"mae": 0.3}})
    b = make_run(tmp_path / "runs" / "b", "distill.json", {"heldout": {"mae": 0.4}})
    report = build_report([tmp_path / "runs"])
    assert [row["run"] for row in report.sections["distill"]] == ["a", "b"]
    assert [row["mae"] for row in report.sections["distill"]] == [0.3, 0.4]
    # The same run passed twice (as a dir and inside its parent) is one row.
    assert len(build_report([a, b, tmp_path / "runs"]).runs) == 2


def test_job_dirs_sort_numerically_and_hidden_dirs_are_skipped(tmp_path, make_run):
    sweep = tmp_path / "sweep"
    for num in (10, 2, 1):
        make_run(sweep / str(num), "search.json", search_payload("evolution", num, [1.0]),
                 [f"seed={num}"])
    make_run(sweep / "1" / ".hydra" / "old", "search.json", search_payload("x", 0, [0.0]))
    runs = find_runs([sweep])
    assert [run.dir.name for run in runs] == ["1", "2", "10"]


def test_a_folder_with_no_outputs_is_refused_in_one_line(tmp_path):
    (tmp_path / "empty" / ".hydra").mkdir(parents=True)
    (tmp_path / "empty" / "notes.json").write_text("{}")
    with pytest.raises(DataNotFoundError, match="no llmpp outputs") as info:
        find_runs([tmp_path / "empty"])
    assert "\n" not in str(info.value)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        find_runs([tmp_path / "missing"])
    with pytest.raises(DataNotFoundError, match="no run dirs given"):
        find_runs([])


@pytest.mark.parametrize("text", ['{"predictor": "x", "tas', '{"predictor": "x"}', "[1, 2]"])
def test_a_broken_or_foreign_output_is_refused(tmp_path, make_run, text):
    make_run(tmp_path / "run", "benchmark.json", text)
    with pytest.raises(CorruptFileError, match="benchmark.json"):
        find_runs([tmp_path / "run"])


def test_every_kind_becomes_its_own_section(tmp_path, make_run):
    make_run(tmp_path / "s", "search.json", search_payload("hs_nas", 0, [1.0, 2.0]))
    make_run(tmp_path / "l", "latency.json", {
        "hardware": {"name": "cpu"}, "task": "t", "training": {"samples": 50, "chosen": "mlp"},
        "test": {"mape": 0.05, "kendall_tau": 0.9}, "retest": {"mape": 0.02},
        "spread": {"iqr_over_median": {"median": 0.01}}, "wall_seconds": {"total": 9.0}})
    make_run(tmp_path / "r", "summary.json", {
        "task": "t", "best": {"predicted_score": -3.5, "predictor": "supernet"},
        "retrained": {"valid_BLEU": 20.5}, "llm": {"calls": 4, "usd": 0.0}})
    report = build_report([tmp_path])
    assert list(report.sections) == ["search", "latency", "summary"]
    assert report.sections["search"][0]["best_score"] == 2.0
    assert report.sections["search"][0]["evaluations"] == 20
    assert report.sections["latency"][0]["hardware"] == "cpu"
    assert report.sections["latency"][0]["retest_mape"] == 0.02
    assert report.sections["summary"][0]["valid_bleu"] == 20.5


def test_write_report_holds_the_json_numbers_in_markdown_and_csv(tmp_path, make_run):
    sweep = _sweep(tmp_path, make_run)
    make_run(tmp_path / "sweep" / "2", "search.json", search_payload("hs_nas", 1, [1.0, 3.25]),
             ["search=hs_nas"])
    report = write_report([sweep], tmp_path / "out")
    text = (tmp_path / "out" / "report.md").read_text()
    assert "| predictor=linear | linear | wmt14_en_de | 1.000 ± 0.100 | 0.500 ± 0.020 |" in text
    # Labels are per kind: the lone search row has no varying override, so its dir names it.
    assert "| 2 | hs_nas |" in text
    assert "![benchmark](report_benchmark.png)" in text
    with open(tmp_path / "out" / "report.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["kind"], r["run"]) for r in rows] == [
        ("benchmark", "predictor=linear"), ("benchmark", "predictor=mean_demos"),
        ("search", "2"),
    ]
    bench = [r for r in rows if r["kind"] == "benchmark"]
    assert [float(r["mae_mean"]) for r in bench] == [1.0, 2.0]
    assert [float(r["kendall_std"]) for r in bench] == [0.02, 0.02]
    assert float(next(r for r in rows if r["kind"] == "search")["best_score"]) == 3.25
    for kind in ("benchmark", "search"):
        assert report.paths[f"plot_{kind}"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_are_skipped_when_asked_or_when_there_is_nothing_to_plot(tmp_path, make_run):
    make_run(tmp_path / "d", "distill.json", {"heldout": {"mae": 0.3}})
    report = write_report([tmp_path / "d"], tmp_path / "out")
    assert not list((tmp_path / "out").glob("*.png"))
    assert "![" not in report.markdown
    write_report([_sweep(tmp_path, make_run)], tmp_path / "out2", plots=False)
    assert not list((tmp_path / "out2").glob("*.png"))


def test_search_curves_show_the_best_so_far_against_cumulative_time():
    payload = search_payload("evolution", 0, [2.0, 1.0, 3.0])
    payload["iterations"][1]["best_score"] = None  # a skipped iteration still takes time
    [curve] = search_curves([("evolution", payload)])
    assert (curve.group, curve.predictor) == ("evolution", "supernet")
    assert curve.seconds == [1.5, 4.5]
    assert curve.best == [2.0, 3.0]
    assert search_curves([("x", {"iterations": []})]) == []


def test_a_two_phase_search_plots_only_its_final_predictors_scores():
    """HS-NAS: Distill-PP's predicted BLEU (~1.4) first, then the supernet's -loss (~-1.4).

    A running max across both would draw a flat line at +1.40 for a search whose best
    is -1.4055; the plotted series is the supernet's own best so far, in its units, at
    the search's cumulative time (the Distill-PP phase's seconds included).
    """
    payload = search_payload("hs_nas", 0, [1.38, 1.40, 1.39, -1.45, -1.41, -1.4055])
    for it in payload["iterations"][:3]:
        it["predictor"], it["wall_seconds"] = "llm_distill", 0.1
    payload["best"] |= {"score": -1.4055, "predictor": "supernet"}
    [curve] = search_curves([("hs_nas", payload)])
    assert curve.predictor == "supernet"
    assert curve.seconds == pytest.approx([1.8, 3.3, 4.8])
    assert curve.best == [-1.45, -1.41, -1.4055]
    # Without best.predictor (an older search.json) the last iteration's predictor ranks.
    del payload["best"]["predictor"]
    assert search_curves([("hs_nas", payload)]) == [curve]


def test_the_search_plot_draws_the_final_predictors_series(tmp_path, monkeypatch):
    """What reaches matplotlib is the supernet's series, labelled with its predictor."""
    import matplotlib.axes

    payload = search_payload("hs_nas", 0, [1.40, -1.45, -1.41])
    payload["iterations"][0]["predictor"] = "llm_distill"
    drawn = []
    real_step = matplotlib.axes.Axes.step
    monkeypatch.setattr(matplotlib.axes.Axes, "step",
                        lambda ax, x, y, *a, **k: drawn.append((list(x), list(y)))
                        or real_step(ax, x, y, *a, **k))
    labels = []
    real_ylabel = matplotlib.axes.Axes.set_ylabel
    monkeypatch.setattr(matplotlib.axes.Axes, "set_ylabel",
                        lambda ax, text, *a, **k: labels.append(text)
                        or real_ylabel(ax, text, *a, **k))
    assert search_plot([("hs_nas", payload)], tmp_path / "search.png").is_file()
    assert drawn == [([3.0, 4.5], [-1.45, -1.41])]
    assert labels == ["best score so far (supernet)"]


def test_search_seeds_share_a_group_and_algorithms_do_not(tmp_path, make_run, monkeypatch):
    for num, (name, seed) in enumerate([("hs_nas", 0), ("hs_nas", 1), ("hs_nas_adaptive", 0)]):
        make_run(tmp_path / "sweep" / str(num), "search.json",
                 search_payload("hs_nas", seed, [1.0]), [f"search={name}", f"seed={seed}"])
    seen = {}

    def fake_plot(runs, path):
        seen["groups"] = [group for group, _ in runs]

    monkeypatch.setattr("llmpp.report.writer.search_plot", fake_plot)
    report = write_report([tmp_path / "sweep"], tmp_path / "out")
    assert seen["groups"] == ["search=hs_nas", "search=hs_nas", "search=hs_nas_adaptive"]
    assert [r["run"] for r in report.sections["search"]] == [
        "search=hs_nas seed=0", "search=hs_nas seed=1", "search=hs_nas_adaptive seed=0"]
