"""``llmpp retrain``: one architecture, and a gold set the benchmark reads."""

import json

import pytest
import torch
import yaml
from helpers_supernet import TINY_TASK

from llmpp.gold.records import load_gold_split
from llmpp.stages.retrain import run_retrain
from llmpp.training.evaluation import evaluate_loss
from llmpp.training.module import TranslationModule
from llmpp.training.runner import build_datamodule

FAST = [
    *TINY_TASK,
    "trainer.max_steps=2",
    "trainer.val_check_interval=2",
    "eval_bleu_limit=1",
]


def test_one_architecture(compose, tmp_path, mini_space):
    arch_file = tmp_path / "arch.yaml"
    arch_file.write_text(yaml.safe_dump(mini_space.smallest().to_hat()))
    payload = run_retrain(compose("retrain", [*FAST, f"arch={arch_file}"]), tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "retrain.json").read_text())
    assert saved["valid_BLEU"] == payload["valid_BLEU"] and "test_loss" in saved
    assert saved["steps"] == 2 and saved["sacrebleu_signature"].startswith("nrefs:1")
    # Both BLEUs, named apart; {split}_BLEU is the one bleu_reported names.
    assert {"valid_sacrebleu", "valid_bleu_tokenized_compound", "test_sacrebleu",
            "test_bleu_tokenized_compound"} <= set(saved)
    assert saved["bleu_reported"] == "sacrebleu" and saved["valid_BLEU"] == saved["valid_sacrebleu"]
    assert saved["bleu_decoding"] == {"beam": 1, "length_penalty": 1.0, "max_len_a": 1.2,
                                      "max_len_b": 10}
    assert saved["scored_checkpoint"] == {"kind": "last"}  # llmpp's option


def test_hats_bleu_protocol_reaches_the_evaluation(compose, tmp_path, mini_space):
    """The paper presets' settings (beam 4, length penalty 0.6, HAT's BLEU reported)."""
    arch_file = tmp_path / "arch.yaml"
    arch_file.write_text(yaml.safe_dump(mini_space.smallest().to_hat()))
    cfg = compose("retrain", [*FAST, f"arch={arch_file}", "beam=4", "length_penalty=0.6",
                              "bleu_reported=bleu_tokenized_compound", "max_len_a=0",
                              "max_len_b=200", "score_checkpoint=best", "trainer.max_steps=6",
                              "optim.max_lr=0.5", "optim.warmup_steps=1"])
    saved = run_retrain(cfg, tmp_path / "run")
    assert saved["bleu_decoding"] == {"beam": 4, "length_penalty": 0.6, "max_len_a": 0.0,
                                      "max_len_b": 200}
    assert saved["valid_BLEU"] == saved["valid_bleu_tokenized_compound"]
    # HAT's checkpoint_best.pt: the scored weights are those of the best validation.
    scored = saved["scored_checkpoint"]
    assert scored["kind"] == "best" and scored["step"] in (2, 4, 6)
    best = TranslationModule(**torch.load(scored["path"], weights_only=False)[
        "hyper_parameters"])
    best.load_state_dict(torch.load(scored["path"], weights_only=False)["state_dict"])
    data = build_datamodule(cfg.data, cfg.task, int(cfg.seed))
    data.setup()
    loss = evaluate_loss(best.model, data.loader("valid", shuffle=False))
    assert saved["valid_loss"] == pytest.approx(loss, rel=1e-6)


def test_gold_set_layout(compose, tmp_path, mini_space):
    overrides = [
        *FAST,
        "n_archs=3",
        "split.demos=1",
        "split.test=2",
        "split.seeds=[123,456]",
    ]
    payload = run_retrain(compose("retrain", overrides), tmp_path)
    gold = payload["gold_dir"]
    demos = load_gold_split("synthetic_en_de", 456, "train", gold_dir=gold)
    tests = load_gold_split("synthetic_en_de", 456, "test", gold_dir=gold)
    assert len(demos) == 1 and len(tests) == 2
    assert {r.arch.key() for r in demos + tests} == {
        mini_space.from_hat(r["arch"]).key() for r in payload["results"]
    }
    record = tests[0]
    assert {"valid_BLEU", "test_BLEU", "valid_loss"} <= set(record.gold)
    assert record.metrics["num_parameters_without_embedding_weights"] > 0

    # The benchmark reads the gold set like the authors' data and reports its real sizes.
    from llmpp.stages.benchmark import run_benchmark

    bench = compose(
        "benchmark",
        [
            "predictor=mean_demos",
            "task=synthetic_en_de",
            "space=hat_mini",
            f"benchmark.gold={gold}",
            "benchmark.seeds=[123,456]",
            "plots=false",
        ],
    )
    result = run_benchmark(bench, tmp_path / "bench")
    assert (result["protocol"]["demos"], result["protocol"]["test"]) == (1, 2)
    assert len(result["tasks"]["synthetic_en_de"]["seeds"]["456"]["predictions"]) == 2


def test_a_list_too_short_for_a_gold_set_keeps_its_results(compose, tmp_path, caplog):
    """Warned before the training, and the results written: never trained, then refused."""
    caplog.set_level("WARNING", logger="llmpp.stages.retrain")
    payload = run_retrain(compose("retrain", [*FAST, "n_archs=2"]), tmp_path)
    saved = json.loads((tmp_path / "retrain.json").read_text())
    assert len(saved["results"]) == 2 and saved == json.loads(json.dumps(payload.to_json()))
    assert "gold_dir" not in saved and not (tmp_path / "gold").exists()
    warning = [r.getMessage() for r in caplog.records if "too few" in r.getMessage()]
    assert len(warning) == 1 and "split.demos/split.test" in warning[0]
