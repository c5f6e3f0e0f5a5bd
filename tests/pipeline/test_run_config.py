"""`llmpp run` is one config tree: every command-line override reaches its step."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from llmpp.pipeline.plan import content_config, step_config
from llmpp.registry import steps

PIPELINE = steps()
STEPS = {step.name: step for step in PIPELINE}
RESULTS = {
    "supernet": {"checkpoint": "/s/last.ckpt"},
    "latency": {"artifact": "/l/latency_predictor.pt"},
    "gold": {"gold_dir": "/g/gold"},
    "label": {"labels": "/lab/labels.jsonl"},
    "distill": {"checkpoint": "/d/distill.ckpt"},
    "search": {"best": {"arch": {"encoder-embed-dim-subtransformer": 128}}},
}

# One override per step block (a key of that stage), and the value the step must see.
BLOCK_OVERRIDES = [
    ("supernet", "supernet.trainer.max_steps=17", "trainer.max_steps", 17),
    ("supernet", "supernet.eval_bleu_limit=9", "eval_bleu_limit", 9),
    ("supernet", "supernet.optim.max_lr=0.5", "optim.max_lr", 0.5),
    ("latency", "latency.n_archs=33", "n_archs", 33),
    ("latency", "latency.measure.repeats=2", "measure.repeats", 2),
    ("gold", "gold.split.demos=4", "split.demos", 4),
    ("gold", "gold.trainer.max_steps=11", "trainer.max_steps", 11),
    ("label", "label.n_archs=21", "n_archs", 21),
    ("label", "label.demo_seeds=[456]", "demo_seeds", [456]),
    ("distill", "distill.regressor.max_epochs=5", "regressor.max_epochs", 5),
    ("search", "search.iterations=3", "search.iterations", 3),
    ("search", "search.population_size=9", "search.population_size", 9),
    ("search", "constraint.limit=0.05", "constraint.limit", 0.05),
    # The search step's own settings, beside the algorithm's keys.
    ("search", "search.init.count=4", "search.init.count", 4),
    ("search", "search.tracking.table_rows=50", "search.tracking.table_rows", 50),
    ("retrain", "retrain.trainer.max_steps=13", "trainer.max_steps", 13),
    ("retrain", "retrain.beam=4", "beam", 4),
]


@pytest.mark.parametrize(("step", "override", "key", "value"), BLOCK_OVERRIDES,
                         ids=[o[1] for o in BLOCK_OVERRIDES])
def test_a_command_line_override_reaches_its_step(step, override, key, value, compose) -> None:
    run_cfg = compose("run", [override])
    cfg = step_config(run_cfg, STEPS[step], RESULTS)
    assert OmegaConf.select(cfg, key) == value
    # ... and only that step: the same key elsewhere keeps the run's default.
    for other in STEPS.values():
        if other.name != step and other.stage == STEPS[step].stage and other.block:
            assert OmegaConf.select(step_config(run_cfg, other, RESULTS), key) != value


def test_a_preset_budget_yields_to_the_command_line(compose) -> None:
    cfg = compose("run", ["experiment=run_smoke", "search.iterations=3"])
    search = step_config(cfg, STEPS["search"], RESULTS)
    assert search.search.iterations == 3  # the command line wins over the preset
    assert search.search.population_size == 8  # the preset wins over run.yaml


@pytest.mark.parametrize("step", [s for s in PIPELINE if s.block], ids=lambda s: s.name)
def test_every_stage_key_exists_in_its_step_block(step, compose) -> None:
    """The run's block holds every key of the stage's own settings (all settable)."""
    stage = compose(step.stage)
    stage = stage[step.block] if step.nested else stage  # the search: its `search` node
    block = compose("run")[step.block]
    assert set(block) <= set(stage), "a run block key the stage does not know"
    own = set(OmegaConf.load(f"conf/steps/{step.stage}.yaml")) - {"defaults"}
    assert own <= set(block)


def test_shared_choices_and_inputs_flow_into_steps(compose) -> None:
    run_cfg = compose("run", ["space=hat_space0", "task=wmt14_en_de", "seed=7", "model=hat"])
    search = step_config(run_cfg, STEPS["search"], RESULTS)
    assert search.space.name == "hat_space0" and search.task.name == "wmt14_en_de"
    assert search.seed == 7
    assert search.search.supernet_checkpoint == "/s/last.ckpt"
    assert search.search.distill_checkpoint == "/d/distill.ckpt"
    assert search.hardware.latency_predictor == "/l/latency_predictor.pt"
    # Interpolated at the step.
    assert search.search.predictors.supernet.checkpoint == "/s/last.ckpt"
    gold = step_config(run_cfg, STEPS["gold"], RESULTS)
    assert gold.supernet_checkpoint == "/s/last.ckpt" and gold.sample_seed == 7
    assert gold.optim.total_steps == gold.trainer.max_steps == 30
    # The demo's gold set starts from the weights each architecture inherits from the
    # supernet the step is given (run.yaml's relative interpolation, read at the step).
    assert gold.init_from == "/s/last.ckpt"
    assert content_config(gold).init_from == "/s/last.ckpt"  # and in its content key
    retrain = step_config(run_cfg, STEPS["retrain"], RESULTS)
    assert retrain.optim.total_steps == retrain.trainer.max_steps == 400
    assert retrain.init_from is None  # the best architecture is retrained from scratch
    assert retrain.arch == RESULTS["search"]["best"]["arch"]


def test_the_logger_does_not_change_a_steps_content_key(compose) -> None:
    from llmpp.pipeline.store import config_key

    one = compose("run", ["logger=wandb"])
    two = compose("run", ["logger=csv"])
    for step in PIPELINE:
        a = content_config(step_config(one, step, RESULTS))
        b = content_config(step_config(two, step, RESULTS))
        assert config_key(a) == config_key(b)
    changed = compose("run", ["supernet.trainer.max_steps=5"])
    assert config_key(content_config(step_config(changed, STEPS["supernet"], RESULTS))) != \
        config_key(content_config(step_config(one, STEPS["supernet"], RESULTS)))


def test_a_gold_step_too_small_for_its_gold_set_is_refused_before_training(compose):
    from llmpp.errors import ConfigError
    from llmpp.stages.run import preflight

    preflight(compose("run", ["gold.n_archs=5", "gold.split.demos=3", "gold.split.test=2"]))
    with pytest.raises(ConfigError, match=r"gold.n_archs=4 is too few .* 3 demonstrations"):
        preflight(compose("run", ["gold.n_archs=4", "gold.split.demos=3", "gold.split.test=2"]))
