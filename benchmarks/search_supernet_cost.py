"""Where a supernet score's time goes: fixed cost per architecture vs cost per pair.

Racing (``SupernetPredictor(race_fraction=...)``) pays off only if scoring a subset of
the validation pairs costs about that fraction of the full set, i.e. if the fixed
per-architecture cost (switching the sub-network, collating) is small. This times, in
one process, interleaved over the same architectures: switching the active
sub-network alone, its encoder pass alone (what ``reuse_encoder`` saves for a candidate
whose encoder configuration was already run), and the scoring at several
validation-pair limits. Usage:

    .venv/bin/python benchmarks/search_supernet_cost.py [--checkpoint <last.ckpt>] [--archs 20]
"""

from __future__ import annotations

import argparse
import os
import time

# Passive OpenMP waiting, as llmpp's CLI sets it: the runtime reads it once, when torch
# loads, and busy-waiting threads distort timings on a shared CPU.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
from omegaconf import OmegaConf

from llmpp.config import build
from llmpp.predictors.base import TaskContext
from llmpp.predictors.supernet import SupernetPredictor
from llmpp.task import TaskSpec, load_task_config
from llmpp.training.evaluation import encode_batches
from llmpp.training.module import TranslationModule
from llmpp.utils.paths import conf_dir


def _module(args, space, task_cfg) -> TranslationModule:
    if args.checkpoint:
        return TranslationModule.from_checkpoint(args.checkpoint)
    torch.manual_seed(0)  # an untrained supernet costs the same to evaluate
    return TranslationModule(space_name=space.name, space_spec=space.spec(),
                             vocab_size=int(task_cfg.vocab_size),
                             task=OmegaConf.to_container(task_cfg)).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint")
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--limits", type=int, nargs="+", default=[200, 100, 40, 20])
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = build(OmegaConf.load(conf_dir() / "space" / "hat_mini.yaml"), "space")
    task_cfg = load_task_config("synthetic_en_de")
    module = _module(args, space, task_cfg)
    context = TaskContext(task=TaskSpec.from_config(task_cfg), space=space)
    predictors = {limit: SupernetPredictor.from_module(module, valid_limit=limit)
                  for limit in args.limits}
    for predictor in predictors.values():
        predictor.setup(context)
        predictor.predict([space.smallest()])  # warm-up: collate the batches once
    archs = space.sample(np.random.default_rng(0), args.archs)
    seconds = {"switch": 0.0, "encoder": 0.0, **{limit: 0.0 for limit in args.limits}}
    full_batches = predictors[args.limits[0]]._valid_batches(
        0, predictors[args.limits[0]]._full_pairs())
    for arch in archs:  # interleaved, so machine load hits every column alike
        started = time.perf_counter()
        model = module.run_arch(space.validate(arch))
        seconds["switch"] += time.perf_counter() - started
        started = time.perf_counter()
        encode_batches(model, full_batches)
        seconds["encoder"] += time.perf_counter() - started
        for limit, predictor in predictors.items():
            started = time.perf_counter()
            predictor.predict([arch])
            seconds[limit] += time.perf_counter() - started
    full = seconds[args.limits[0]]
    print(f"{args.archs} hat_mini architectures, one thread, torch {torch.__version__}")
    print("| what | ms per architecture | share of the full score |")
    print("|---|---|---|")
    for key, value in seconds.items():
        label = {"switch": "switch sub-network only",
                 "encoder": f"encoder pass only, {args.limits[0]} pairs"}.get(
                     key, f"score on {key} pairs")
        print(f"| {label} | {1000 * value / args.archs:.1f} | {value / full:.2f} |")


if __name__ == "__main__":
    main()
