"""Distill-PP predictions per second, batched, on one CPU core.

Times, in one process on the same architectures: feature encoding alone (fast
vectorised path and the space's reference ``encode``), the MLP on encoded rows, and
``predict`` end to end (encoding included). Weights are random: throughput does not
depend on them. Usage:

    .venv/bin/python benchmarks/distill_throughput.py [--n 50000] [--space hat_space0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from llmpp.distill.checkpoint import DistilledModel, checkpoint_payload
from llmpp.distill.model import build_mlp
from llmpp.utils.paths import conf_dir


def _rate(fn, n: int, repeats: int = 3) -> float:
    fn()  # warm-up
    best = min(_timed(fn) for _ in range(repeats))
    return n / best


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50000)
    parser.add_argument("--space", default="hat_space0")
    parser.add_argument("--features", default="hat")
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = instantiate(OmegaConf.load(conf_dir() / "space" / f"{args.space}.yaml"))
    archs = space.sample(np.random.default_rng(0), args.n)
    torch.manual_seed(0)
    in_dim = space.encode(archs[:1], args.features).shape[1]
    net = build_mlp(in_dim, 400, 3)
    model = DistilledModel(
        checkpoint_payload(
            net.state_dict(),
            model={"in_dim": in_dim, "hidden_dim": 400, "hidden_layers": 3},
            target_mean=25.0,
            target_std=1.0,
            feature_kind=args.features,
            space=space,
        )
    )
    rows = model.encoder.encode(archs)
    sub = archs[:5000]
    results = {
        "encode (vectorised)": _rate(lambda: model.encoder.encode(archs), len(archs)),
        "encode (space.encode reference)": _rate(
            lambda: space.encode(sub, args.features), len(sub), 1
        ),
        "MLP on encoded rows": _rate(lambda: model.predict_features(rows), len(archs)),
        "predict end to end": _rate(lambda: model.predict(archs), len(archs)),
    }
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, {args.space}, "
        f"{args.features} features, {args.n} architectures, MLP 3x400"
    )
    for name, rate in results.items():
        print(f"{name:<34} {rate:>12,.0f} archs/s")


if __name__ == "__main__":
    main()
