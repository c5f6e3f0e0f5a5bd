"""Distill-PP predictions per second, batched, on one CPU core, against the core's limit.

Times, in one process on the same architectures: feature encoding alone (fast
vectorised path and the space's reference ``encode``), the MLP on encoded rows, and
``predict`` end to end (encoding included). The hardware limit is measured in the same
run: the bare fp32 matrix multiplies the MLP implies (same shapes, same chunking, no
bias, activation or encoding) timed on the same core; each path is reported as a
ratio to that bound, a figure that survives a noisy shared machine. Weights are
random: throughput does not depend on them. Usage:

    .venv/bin/python benchmarks/distill_throughput.py [--n 50000] [--space hat_space0]
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
from hydra.utils import instantiate
from omegaconf import OmegaConf

from llmpp.distill.checkpoint import CHUNK, DistilledModel, checkpoint_payload
from llmpp.models.mlp import build_mlp
from llmpp.utils.paths import conf_dir


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def interleaved_rates(fns: dict[str, tuple[object, int]], repeats: int = 5) -> dict[str, float]:
    """Items/s of each ``(fn, items)``: best of ``repeats`` rounds that run every fn in turn.

    Interleaving puts the bound and the paths under the same machine load, so their
    ratios hold on a busy shared machine where absolute rates do not.
    """
    for fn, _ in fns.values():
        fn()  # warm-up
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, (fn, _) in fns.items():
            best[name] = min(best[name], _timed(fn))
    return {name: items / best[name] for name, (_, items) in fns.items()}


def gemm_bound(net: torch.nn.Module, n: int, chunk: int) -> tuple[object, float]:
    """The MLP's matrix multiplies alone over ``n`` rows (the core's limit), and their FLOPs/row."""
    weights = [m.weight.detach().t().contiguous() for m in net if isinstance(m, torch.nn.Linear)]
    inputs = [torch.randn(chunk, w.shape[0]) for w in weights]
    outs = [torch.empty(chunk, w.shape[1]) for w in weights]
    chunks = -(-n // chunk)

    def run() -> None:
        for _ in range(chunks):
            for x, w, o in zip(inputs, weights, outs, strict=True):
                torch.mm(x, w, out=o)

    return run, 2.0 * sum(w.shape[0] * w.shape[1] for w in weights)


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
    net = build_mlp(in_dim, 400, 3).eval()
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
    bound, flops_per_row = gemm_bound(net, len(archs), CHUNK)
    n = len(archs)
    rates = interleaved_rates({
        "bound: the MLP matmuls alone": (bound, -(-n // CHUNK) * CHUNK),
        "encode (vectorised)": (lambda: model.encoder.encode(archs), n),
        "encode (space.encode reference)": (lambda: space.encode(sub, args.features), len(sub)),
        "MLP on encoded rows": (lambda: model.predict_features(rows), n),
        "predict end to end": (lambda: model.predict(archs), n),
    })
    limit = rates["bound: the MLP matmuls alone"]
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, {args.space}, "
        f"{args.features} features, {n} architectures, MLP {in_dim}-400x4-1, chunk {CHUNK}; "
        f"bound = {limit * flops_per_row / 1e9:.1f} GFLOP/s"
    )
    for name, rate in rates.items():
        print(f"{name:<34} {rate:>12,.0f} archs/s  {rate / limit:5.2f} of the bound")


if __name__ == "__main__":
    main()
