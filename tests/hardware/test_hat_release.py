"""HAT's released latency data: verified copies, its predictors' error, measured targets."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from cli_runner import run_cli
from scipy.stats import kendalltau

from llmpp.errors import ConfigError, CorruptFileError, DataNotFoundError
from llmpp.gold.source import ReleaseSource
from llmpp.hardware.hat_release import (
    HAT,
    dataset_names,
    hat_source,
    load_dataset,
)
from llmpp.hardware.measured import MeasuredTarget, released_model
from llmpp.task import TaskSpec

CSV = "latency_dataset/wmt14ende_gpu_titanxp_all.csv"
# HAT's published SubTransformer "HAT_wmt14ende_titanxp@126.0ms_bleu@27.9" (its
# configs/wmt14.en-de/subtransformer/), in HAT's YAML keys.
HAT_ARCH = {
    "encoder-embed-dim-subtransformer": 512,
    "decoder-embed-dim-subtransformer": 512,
    "encoder-ffn-embed-dim-all-subtransformer": [3072] * 6,
    "decoder-ffn-embed-dim-all-subtransformer": [3072] * 3,
    "encoder-layer-num-subtransformer": 6,
    "decoder-layer-num-subtransformer": 3,
    "encoder-self-attention-heads-all-subtransformer": [4, 4, 8, 8, 8, 4],
    "decoder-self-attention-heads-all-subtransformer": [8, 8, 8],
    "decoder-ende-attention-heads-all-subtransformer": [4, 8, 8],
    "decoder-arbitrary-ende-attn-all-subtransformer": [-1, 1, 1],
}
# HAT's 10 features of HAT_ARCH, worked out by hand from the YAML above.
HAT_ARCH_FEATURES = [512, 6, 3072, 6, 512, 3, 3072, 8, 20 / 3, 5 / 3]
# HAT's released predictors on HAT's own test split (last 10 %): MAPE (%), Kendall tau-b.
RELEASED = {
    "wmt14ende_gpu_titanxp": (3.5, 0.855),
    "wmt14ende_cpu_xeon": (4.0, 0.898),
    "wmt14ende_cpu_raspberrypi": (2.2, 0.949),
    "wmt19ende_gpu_titanxp": (2.9, 0.841),
    "wmt14enfr_gpu_titanxp": (2.5, 0.868),
    "wmt14enfr_cpu_xeon": (4.2, 0.916),
    "wmt14enfr_cpu_raspberrypi": (0.9, 0.971),
    "iwslt14deen_gpu_titanxp": (3.7, 0.840),
}


def numpy_hat(state: dict, features: np.ndarray, config: dict) -> np.ndarray:
    """HAT's network evaluated in float64 numpy, straight from the .pt and the YAML."""
    w = {k: v.double().numpy() for k, v in state.items()}
    h = np.asarray(features, np.float64) / np.asarray(config["feature-norm"], np.float64)
    h = np.maximum(h @ w["first_layer.weight"].T + w["first_layer.bias"], 0)
    for i in range(int(config["hidden-layer-num"])):
        h = np.maximum(h @ w[f"layers.{i}.weight"].T + w[f"layers.{i}.bias"], 0)
    return (h @ w["predict.weight"].T + w["predict.bias"])[:, 0] * float(config["lat-norm"])


def released_files(root: Path, name: str) -> tuple[dict, dict]:
    task, device = name.rsplit("_", 2)[0], "_".join(name.rsplit("_", 2)[1:])
    folder = {"wmt14ende": "wmt14.en-de", "wmt14enfr": "wmt14.en-fr", "wmt19ende": "wmt19.en-de",
              "iwslt14deen": "iwslt14.de-en"}[task]
    config = yaml.safe_load((root / f"configs/{folder}/latency_predictor/{device}.yml").read_text())
    state = torch.load(root / f"latency_dataset/predictors/{name}.pt", weights_only=True)
    return state, config


def test_manifest_lists_every_file_of_the_release(hat_root) -> None:
    assert len(dataset_names()) == 8
    source = hat_source()
    assert source.root == hat_root  # LLMPP_HAT_ROOT (tests point it at the shared copy)
    assert len(source.manifest) == len((hat_root / "SHA256SUMS").read_text().splitlines())


def test_dataset_rows_and_hat_split(hat_root) -> None:
    data = load_dataset("wmt14ende_gpu_titanxp", hat_source(hat_root))
    assert data.features.shape == (2000, 10)
    parts = data.split()
    assert [len(parts[k]) for k in ("train", "valid", "test")] == [1600, 200, 200]
    assert parts["train"][0] == 0 and parts["test"][-1] == 1999  # in order, no shuffle
    assert data.latency[0] == pytest.approx(5.8006539940834045 + 246.40701866149902)


def test_tampered_copy_is_refused(hat_root, tmp_path) -> None:
    root = tmp_path / "hat"
    shutil.copytree(hat_root, root)
    (root / CSV).chmod(0o644)
    text = (root / CSV).read_text()
    (root / CSV).write_text(text.replace("246.40701866149902", "146.40701866149902", 1))
    with pytest.raises(CorruptFileError, match="SHA-256"):
        load_dataset("wmt14ende_gpu_titanxp", hat_source(root))


def test_missing_root_and_file_name_the_fix(tmp_path) -> None:
    with pytest.raises(DataNotFoundError, match="hardware.hat_root"):
        hat_source(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="missing"):
        load_dataset("wmt14ende_gpu_titanxp", hat_source(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="wmt14ende_gpu_titanxp"):
        load_dataset("wmt14ende_gpu_v100", hat_source())


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_download_is_pinned_verified_and_cached(hat_root, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("LLMPP_HAT_ROOT")
    served = tmp_path / "served"
    (served / HAT.commit / CSV).parent.mkdir(parents=True)
    shutil.copy(hat_root / CSV, served / HAT.commit / CSV)
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_Handler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        local = ReleaseSource(mirror=url, release=HAT).path(CSV)
        assert local.read_bytes() == (hat_root / CSV).read_bytes()
        assert "hat" in local.parts and HAT.commit in local.parts  # the user cache
        (served / HAT.commit / CSV).write_text("tampered\n")
        local.write_text("garbage\n")  # a bad cached copy is fetched again, and checked
        with pytest.raises(CorruptFileError, match="does not match"):
            ReleaseSource(mirror=url, release=HAT).path(CSV)
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(DataNotFoundError, match="LLMPP_HAT_ROOT"):
        ReleaseSource(mirror="http://127.0.0.1:9", timeout=2, release=HAT).path(CSV)


@pytest.mark.parametrize("name", sorted(RELEASED))
def test_released_predictor_error_on_hat_split(name, hat_root) -> None:
    data = load_dataset(name, hat_source(hat_root))
    test = data.split()["test"]
    state, config = released_files(hat_root, name)
    pred = numpy_hat(state, data.features[test], config)  # independent of llmpp's network
    gold = data.latency[test]
    mape = float(np.mean(np.abs(pred - gold) / gold) * 100)
    tau = kendalltau(pred, gold).statistic
    assert (round(mape, 1), round(tau, 3)) == RELEASED[name]
    ours = released_model(name, hat_source(hat_root)).predict(data.features[test])
    np.testing.assert_allclose(ours, pred, rtol=1e-5)


def test_measured_target_refuses_a_space_or_task_hat_did_not_measure(mini_space, paper_space):
    target = MeasuredTarget(name="titanxp", dataset_device="gpu_titanxp")
    wmt = TaskSpec(name="wmt14_en_de", title="t", source_lang="en", target_lang="de",
                   vocab_size=32768, gold_name="wmt14ende")
    with pytest.raises(ConfigError, match="space hat_mini .*space=hat_space0"):
        target.load_latency_predictor(mini_space, wmt)
    xeon = MeasuredTarget(name="xeon", dataset_device="cpu_xeon")
    wmt19 = TaskSpec(name="wmt19_en_de", title="t", source_lang="en", target_lang="de",
                     vocab_size=49600, gold_name="wmt19ende")
    with pytest.raises(ConfigError, match="HAT measured no task wmt19_en_de on xeon"):
        xeon.load_latency_predictor(paper_space, wmt19)
    with pytest.raises(ConfigError, match="nothing to time"):
        target.meter(vocab_size=1, qkv_dim=1, config=None)


def llmpp(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_cli(args, cwd=cwd)  # the console script's entry, in this process


def test_describe_gives_hat_released_latency(tmp_path, hat_root) -> None:
    path = tmp_path / "hat_arch.yml"
    path.write_text(yaml.safe_dump(HAT_ARCH))
    proc = llmpp("describe", f"arch={path}", "task=wmt14_en_de", "space=hat_space0",
                 "hardware=titanxp", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    state, config = released_files(hat_root, "wmt14ende_gpu_titanxp")
    expected = numpy_hat(state, np.asarray([HAT_ARCH_FEATURES]), config)[0]
    assert abs(payload["latency_ms"] - expected) < 1e-3
    assert payload["latency_ms"] == pytest.approx(EXPECTED_HAT_ARCH_MS, abs=1e-3)
    assert payload["hardware"]["model"] == "released"
    assert payload["hardware"]["hardware"]["device"] == "NVIDIA TITAN Xp"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["latency", "space=hat_mini"], "space hat_mini is not the space HAT measured on titanxp"),
        (["search", "space=hat_mini", "constraint=latency"], "space hat_mini is not the space"),
        (["describe", "arch={arch}", "space=hat_space0", "hardware.hat_root={tampered}"],
         "SHA-256"),
    ],
    ids=["latency-space", "search-space", "describe-tampered"],
)
def test_measured_target_errors_are_one_line(args, fragment, tmp_path, hat_root) -> None:
    tampered = tmp_path / "hat"
    shutil.copytree(hat_root, tampered)
    (tampered / CSV).chmod(0o644)
    with (tampered / CSV).open("a") as handle:
        handle.write("\n")
    path = tmp_path / "arch.yml"
    path.write_text(yaml.safe_dump(HAT_ARCH))
    proc = llmpp(*[a.format(tampered=tampered, arch=path) for a in args], "task=wmt14_en_de",
                 "hardware=titanxp", "logger=none", f"hydra.run.dir={tmp_path / 'run'}",
                 cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


EXPECTED_HAT_ARCH_MS = 145.22085  # HAT says 126.0 ms measured; this is its predictor


def test_latency_stage_writes_an_artifact_from_hat_data(tmp_path, paper_space, compose) -> None:
    from llmpp.config import build
    from llmpp.hardware.artifact import LatencyPredictor
    from llmpp.stages.latency import run_latency

    cfg = compose("latency", ["hardware=titanxp", "task=wmt14_en_de", "space=hat_space0",
                              "hardware.model=gbdt", "logger=none"])
    result = run_latency(cfg, tmp_path)
    assert result["training"]["dataset"] == "wmt14ende_gpu_titanxp"
    assert result["training"]["chosen"] == "gbdt" and result["test"]["mape"] < 6
    task = TaskSpec.from_config(cfg.task)
    saved = LatencyPredictor.load(result["artifact"], paper_space, task)
    built = build(cfg.hardware, "hardware").load_latency_predictor(paper_space, task)
    archs = [paper_space.from_hat(HAT_ARCH), paper_space.largest(), paper_space.smallest()]
    np.testing.assert_allclose(saved.predict(archs), built.predict(archs), rtol=1e-9)
    assert saved.predict(archs)[2] < saved.predict(archs)[0] < saved.predict(archs)[1]
    # The run summary's latency of the found architecture reads the same artifact.
    from llmpp.stages.run import predicted_latency

    run_cfg = compose("run", ["hardware=titanxp", "task=wmt14_en_de", "space=hat_space0"])
    assert predicted_latency(run_cfg, result["artifact"], HAT_ARCH) == pytest.approx(
        float(saved.predict(archs[:1])[0]))


@pytest.mark.parametrize("kind", ["costs", "costs_gbdt", "mlp_ensemble"])
def test_fitted_kinds_survive_the_artifact(kind, tmp_path, paper_space) -> None:
    from llmpp.hardware.artifact import LatencyPredictor, save_artifact

    options = {"mlp_ensemble": {"members": 2, "steps": 50}}
    target = MeasuredTarget(name="titanxp", dataset_device="gpu_titanxp", model=kind,
                            models=options)
    task = TaskSpec(name="wmt14_en_de", title="t", source_lang="en", target_lang="de",
                    vocab_size=32768, gold_name="wmt14ende")
    payload = target.build_payload(paper_space, task)
    save_artifact(tmp_path / "a.pt", payload)
    loaded = LatencyPredictor.load(tmp_path / "a.pt", paper_space, task)
    built = LatencyPredictor(payload, paper_space, task)
    archs = [paper_space.largest(), paper_space.smallest(), paper_space.from_hat(HAT_ARCH)]
    np.testing.assert_allclose(loaded.predict(archs), built.predict(archs), rtol=1e-9)
    assert payload["training"]["chosen"] == kind


def test_auto_chooses_by_cross_validation_on_the_training_split(paper_space) -> None:
    from llmpp.hardware.measured import AUTO_KINDS
    from llmpp.hardware.predictor import cross_validate

    target = MeasuredTarget(name="titanxp", dataset_device="gpu_titanxp", model="auto")
    task = TaskSpec(name="wmt14_en_de", title="t", source_lang="en", target_lang="de",
                    vocab_size=32768, gold_name="wmt14ende")
    payload = target.build_payload(paper_space, task)
    cv = payload["metrics"]["cv"]
    assert set(cv) == set(AUTO_KINDS)
    assert payload["training"]["chosen"] == min(cv, key=lambda k: cv[k]["mape"])
    data = load_dataset("wmt14ende_gpu_titanxp")
    train = data.split()["train"]
    again = cross_validate("costs", None, data.features[train], data.latency[train], 3, 0)
    assert cv["costs"]["mape"] == pytest.approx(again["mape"])


def test_costs_model_beats_hat_released_on_titanxp() -> None:
    from llmpp.hardware.predictor import new_model

    data = load_dataset("wmt14ende_gpu_titanxp")
    part = data.split()
    model = new_model("costs").fit(data.features[part["train"]], data.latency[part["train"]])
    pred, gold = model.predict(data.features[part["test"]]), data.latency[part["test"]]
    mape = float(np.mean(np.abs(pred - gold) / gold) * 100)
    assert mape <= 0.8 * RELEASED["wmt14ende_gpu_titanxp"][0]
    assert round(mape, 2) == 1.99  # docs/BENCHMARKS.md
