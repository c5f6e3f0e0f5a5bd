"""Weight-sharing overhead and inherited-weight evaluation speed (one run, side by side).

Training-step time (forward + backward + Adam) of the SuperTransformer with a sampled
architecture active vs. the exported standalone model of that architecture, on the
same batch, interleaved; then inherited-weight validation-loss evaluations per second.

    .venv/bin/python benchmarks/supernet_step_time.py --archs 3 --repeats 5
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

from llmpp.data import TranslationDataModule
from llmpp.models import SuperTransformer
from llmpp.training.evaluation import evaluate_loss
from llmpp.training.objective import label_smoothed_loss
from llmpp.utils.paths import conf_dir


def synchronize() -> None:
    """Wait for queued CUDA kernels: without it a GPU timing measures only the launches."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def step_seconds(model, batch, optimizer) -> float:
    synchronize()
    start = time.perf_counter()
    loss, _, n = label_smoothed_loss(model(batch["src"], batch["tgt_in"]), batch["tgt_out"], 0.1)
    (loss / n).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="hat_mini")
    parser.add_argument("--archs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=2048)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    space = instantiate(OmegaConf.load(conf_dir() / "space" / f"{args.space}.yaml"))
    task = OmegaConf.load(conf_dir() / "task" / "synthetic_en_de.yaml")
    dm = TranslationDataModule(task, max_tokens=args.max_tokens, valid_limit=200)
    dm.setup()
    batch = {k: v.to(args.device) for k, v in next(iter(dm.train_dataloader())).items()}
    supernet = SuperTransformer(space, int(task.vocab_size)).to(args.device)
    ratios = []
    for arch in space.sample(np.random.default_rng(0), args.archs):
        supernet.set_arch(arch)
        standalone = supernet.export(arch)
        opts = (torch.optim.Adam(supernet.parameters()), torch.optim.Adam(standalone.parameters()))
        for model, opt in zip((supernet, standalone), opts, strict=True):
            step_seconds(model, batch, opt)  # warm-up
        times = ([], [])
        for _ in range(args.repeats):  # interleaved so machine noise hits both alike
            for i, (model, opt) in enumerate(zip((supernet, standalone), opts, strict=True)):
                times[i].append(step_seconds(model, batch, opt))
        sup, alone = float(np.median(times[0])), float(np.median(times[1]))
        ratios.append(sup / alone)
        print(
            f"{arch.short():>14}: supernet {sup * 1e3:7.1f} ms  standalone {alone * 1e3:7.1f} ms"
            f"  ratio {sup / alone:.3f}"
        )
    print(f"median ratio supernet/standalone: {np.median(ratios):.3f}")
    batches = list(dm.loader("valid", shuffle=False))
    archs = space.sample(np.random.default_rng(1), 4)
    synchronize()
    start = time.perf_counter()
    for arch in archs:
        supernet.set_arch(arch)
        evaluate_loss(supernet, batches)
    synchronize()
    rate = len(archs) / (time.perf_counter() - start)
    print(f"inherited-weight evaluations/s (200 valid pairs, loss): {rate:.2f}")


if __name__ == "__main__":
    main()
