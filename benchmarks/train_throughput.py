"""Training tokens/s of the supernet and a standalone model against the core's GEMM limit.

For the demo's widths (``llmpp run``'s defaults: space hat_mini, task synthetic_en_de,
the data group's token budget per batch, the model group's dropout and smoothing) and
a few sub-networks (the largest, the smallest, ``--archs`` sampled ones), one process
times side by side, interleaved, on the same training batches:

* ``bound``: the bare fp32 matrix multiplies of one training step at the step's own
  shapes — every GEMM the forward pass issues (recorded from the real model), plus the
  two the backward pass needs per GEMM (gradient of the input, of the weight), with
  contiguous operands and preallocated outputs. Nothing else (no attention, softmax,
  dropout, optimiser): the most any implementation of this step could reach on this core;
* ``supernet``: the SuperTransformer with the sub-network active — forward, the
  label-smoothed loss, backward, Adam — in a plain loop;
* ``standalone``: the exported model of the same sub-network, same loop;
* ``lightning``: the demo's own ``TranslationModule.training_step`` under a Lightning
  Trainer (logging, optimiser hooks, LR scheduler), time per batch from a callback.

Rates are target tokens (not padding) per CPU second of this process (a job that
shares the core does not count against us) and each is given as a ratio to the
bound, a figure that survives a noisy shared machine (absolute rates do not). Then the
largest sub-network's supernet step is split: timed sections (forward, loss, backward,
optimiser) and torch.profiler's operator self-times by kind (GEMMs, attention, dropout
masks, the loss, the rest), Python/dispatch as the time no operator accounts for, plus
Lightning's and the DataLoader's cost per batch. One thread by default: a per-core
bound that other jobs on the machine disturb least. Usage:

    .venv/bin/python benchmarks/train_throughput.py [--threads 1] [--batches 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

# Passive OpenMP waiting, as llmpp's CLI sets it: the runtime reads it once, when torch
# loads, and busy-waiting threads distort timings on a shared CPU.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from llmpp.config import build, compose
from llmpp.data.corpus import PAD
from llmpp.models import layers, mos, transformer
from llmpp.space.architecture import Architecture
from llmpp.training.host_memory import retain_freed_memory
from llmpp.training.objective import label_smoothed_loss
from llmpp.training.runner import build_datamodule, build_module

Batch = dict[str, torch.Tensor]
GEMMS = {torch.ops.aten.mm.default, torch.ops.aten.addmm.default}


# CPU seconds of this process, not wall clock: on a shared machine other jobs take the
# core away for stretches that wall time would count against whoever was running.
clock = time.process_time


def _timed(fn: Callable[[], object]) -> float:
    started = clock()
    fn()
    return clock() - started


def interleaved_seconds(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` seconds of each fn, every round running each fn in turn.

    A fn that returns a number has timed its own part (the Lightning steps without the
    Trainer's set-up); that number is its time.
    """
    for fn in fns.values():
        fn()  # warm-up
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            started = clock()
            own = fn()
            spent = own if isinstance(own, float) else clock() - started
            best[name] = min(best[name], spent)
    return best


# ---- the bound -----------------------------------------------------------------------------
class _GemmShapes(TorchDispatchMode):
    """Records ``(m, k, n)`` of every mm/addmm a forward pass issues."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes: list[tuple[int, int, int]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in GEMMS:
            a, b = args[-2], args[-1]
            self.shapes.append((a.shape[0], a.shape[1], b.shape[1]))
        return func(*args, **(kwargs or {}))


def step_gemm_shapes(model: torch.nn.Module, batch: Batch) -> list[tuple[int, int, int]]:
    """The GEMMs of one training step on ``batch``: forward, grad of input, grad of weight."""
    recorder = _GemmShapes()
    with torch.no_grad(), recorder:
        model(batch["src"], batch["tgt_in"])
    step = []
    for m, k, n in recorder.shapes:
        step += [(m, k, n), (m, n, k), (k, m, n)]
    return step


def gemm_bound(shapes: list[tuple[int, int, int]]) -> tuple[Callable[[], None], float]:
    """A loop of the bare GEMMs (preallocated, contiguous) and their FLOPs."""
    operands = [(torch.randn(m, k), torch.randn(k, n), torch.empty(m, n)) for m, k, n in shapes]

    def run() -> None:
        for a, b, out in operands:
            torch.mm(a, b, out=out)

    return run, 2.0 * sum(m * k * n for m, k, n in shapes)


# ---- the contenders --------------------------------------------------------------------------
def plain_steps(model: torch.nn.Module, batches: list[Batch], smoothing: float, *,
                fused: bool = True, reference_dropout: bool = False):
    """One forward/loss/backward/Adam step per batch, as the training step does it.

    ``fused=False`` / ``reference_dropout=True`` undo one speed change each (per-tensor
    Adam, ``F.dropout``'s mask) for measuring what it brought.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, fused=fused)
    model.train()

    def run() -> None:
        with torch_dropout() if reference_dropout else nullcontext():
            for batch in batches:
                loss, _, n = label_smoothed_loss(
                    model(batch["src"], batch["tgt_in"]), batch["tgt_out"], smoothing
                )
                (loss / max(n, 1)).backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)

    return run


@contextmanager
def torch_dropout() -> Iterator[None]:
    """The models' dropout drawn by ``F.dropout`` (one Bernoulli draw per element)."""
    users = (layers, transformer, mos)
    saved = [module.apply_dropout for module in users]
    for module in users:
        module.apply_dropout = F.dropout
    try:
        yield
    finally:
        for module, fn in zip(users, saved, strict=True):
            module.apply_dropout = fn


class _BatchTimer(L.Callback):
    """Seconds from a training batch's start to its end (the step, its hooks, logging)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start = 0.0

    def on_train_batch_start(self, *args) -> None:
        self._start = clock()

    def on_train_batch_end(self, *args) -> None:
        self.seconds.append(clock() - self._start)


def lightning_steps(make_module: Callable[[], L.LightningModule], batches: list[Batch], trainer):
    """The module's training steps under a Lightning Trainer: seconds for all ``batches``."""
    # The first batch again in front: a fresh Trainer's first step (optimizer state,
    # lazy set-up) is not a training step's cost; the timer drops it.
    loader = torch.utils.data.DataLoader(batches[:1] + batches, batch_size=None)

    def run() -> float:
        timer = _BatchTimer()
        L.Trainer(
            max_steps=len(batches) + 1, max_epochs=1, logger=False, enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
            limit_val_batches=0, accelerator="cpu", devices=1, callbacks=[timer],
            log_every_n_steps=int(trainer.log_every_n_steps),
        ).fit(make_module(), train_dataloaders=loader)
        return sum(timer.seconds[1:])

    return run


# ---- the breakdown ---------------------------------------------------------------------------
KINDS = {
    "GEMMs": ("aten::mm", "aten::addmm", "aten::bmm"),
    "attention (fused SDPA, fwd+bwd)": ("scaled_dot_product", "flash_attention"),
    "dropout masks": ("bernoulli", "aten::random_", "aten::randint", "dropout"),
    "loss (log-softmax, smoothing)": ("log_softmax", "gather", "nll_loss"),
    "optimiser (Adam)": ("_foreach", "_fused_adam", "lerp", "addcdiv", "aten::sqrt"),
}


def op_kind(name: str) -> str:
    for kind, keys in KINDS.items():
        if any(key in name for key in keys):
            return kind
    return "other ops (layer norm, ReLU, adds, copies, fills)"


def profile_kinds(run: Callable[[], None]) -> tuple[dict[str, float], float]:
    """Operator self CPU seconds by kind, and the wall seconds of ``run`` under the profiler."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        started = time.perf_counter()  # the profiler's operator times are wall clock too
        run()
        wall = time.perf_counter() - started
    kinds: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        if event.key.startswith(("aten::", "torch::", "autograd::")) and not event.key.startswith(
            "autograd::engine"
        ):
            kinds[op_kind(event.key)] += event.self_cpu_time_total / 1e6
    return dict(kinds), wall


def sections(model: torch.nn.Module, batches: list[Batch], smoothing: float, repeats: int):
    """Seconds per batch of forward, loss, backward and optimiser (best of ``repeats``)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, fused=True)
    best: dict[str, float] = defaultdict(lambda: float("inf"))
    for _ in range(repeats + 1):
        totals: dict[str, float] = defaultdict(float)
        for batch in batches:
            t0 = clock()
            logits = model(batch["src"], batch["tgt_in"])
            t1 = clock()
            loss, _, n = label_smoothed_loss(logits, batch["tgt_out"], smoothing)
            t2 = clock()
            (loss / max(n, 1)).backward()
            t3 = clock()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            t4 = clock()
            for name, dt in (("forward", t1 - t0), ("loss", t2 - t1), ("backward", t3 - t2),
                             ("optimiser", t4 - t3)):
                totals[name] += dt / len(batches)
        for name, dt in totals.items():
            best[name] = min(best[name], dt)
    return dict(best)


def compare(archs: dict[str, Architecture], supernet, fixed_module, batches: list[Batch],
            smoothing: float, trainer_cfg, repeats: int) -> dict[str, float]:
    """Prints each sub-network's contenders against its bound; the largest's seconds."""
    tokens = sum(int(b["tgt_out"].ne(PAD).sum()) for b in batches)
    print(f"{'sub-network':<34} {'contender':<11} {'tokens/s':>9} {'of bound':>9}")
    largest: dict[str, float] = {}
    for label, arch in archs.items():
        supernet.set_arch(arch)
        standalone = supernet.export(arch)
        bound, flops = gemm_bound([s for b in batches for s in step_gemm_shapes(standalone, b)])
        fns = {
            "bound": bound,
            "supernet": plain_steps(supernet, batches, smoothing),
            "standalone": plain_steps(standalone, batches, smoothing),
        }
        if label == "largest":
            fns["- fused Adam"] = plain_steps(supernet, batches, smoothing, fused=False)
            fns["- CPU mask"] = plain_steps(supernet, batches, smoothing, reference_dropout=True)
            fns["lightning"] = lightning_steps(lambda a=arch: fixed_module(a), batches,
                                               trainer_cfg)
        seconds = interleaved_seconds(fns, repeats)
        limit = tokens / seconds["bound"]
        for name, sec in seconds.items():
            print(f"{label + ' ' + arch.short():<34} {name:<11} {tokens / sec:>9,.0f} "
                  f"{tokens / sec / limit:>9.2f}")
        print(f"{'':<34} bound = {flops / seconds['bound'] / 1e9:.1f} GFLOP/s")
        if label == "largest":
            largest = seconds
    return largest


def print_breakdown(supernet, batches: list[Batch], smoothing: float, seconds: dict[str, float],
                    repeats: int, data_seconds: float) -> None:
    """Where the active sub-network's supernet step goes: sections, operator kinds, the rest."""
    print("\nwhere the largest sub-network's supernet step goes (ms per batch):")
    parts = sections(supernet, batches, smoothing, repeats)
    print("  sections: " + ", ".join(f"{k} {v * 1e3:.0f}" for k, v in parts.items()))
    kinds, wall = profile_kinds(plain_steps(supernet, batches, smoothing))
    step = seconds["supernet"] / len(batches)
    scale = step / (wall / len(batches))  # the profiler's own overhead, removed pro rata
    rows = {k: v / len(batches) * scale for k, v in kinds.items()}
    rows["Python and dispatch (no operator running)"] = step - sum(rows.values())
    print(f"  {'the GEMM bound':<52} {seconds['bound'] / len(batches) * 1e3:8.1f}")
    for name, value in sorted(rows.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<52} {value * 1e3:8.1f}  {value / step:6.1%}")
    print(f"  {'= the supernet step':<52} {step * 1e3:8.1f}")
    lightning = (seconds["lightning"] - seconds["standalone"]) / len(batches)
    print(f"  {'Lightning over the plain standalone step':<52} {lightning * 1e3:8.1f}")
    print(f"  {'DataLoader, per batch (not overlapped: 0 workers)':<52} "
          f"{data_seconds * 1e3:8.1f}")
    before = os.times()
    plain_steps(supernet, batches, smoothing)()
    after = os.times()
    print(f"  {'of the step, kernel time (page faults: --glibc-defaults)':<52} "
          f"{(after.system - before.system) / len(batches) * 1e3:8.1f}")


# ---- the demo's fixed costs around the steps -----------------------------------------------
def demo_overheads(cfg, module, datamodule, tmp: Path) -> dict[str, float]:
    """CPU seconds of what the supernet step of the demo does besides training steps.

    A fresh corpus build (what a first run pays), one validation (loss of the largest
    and the smallest sub-network on the validation pairs), one checkpoint write, and
    the final greedy BLEU of ``eval_bleu_limit`` validation sentences per sub-network.
    The weights are untrained, so decoding runs to the length limit: an upper bound.
    """
    from llmpp.data.corpus import prepare_corpus
    from llmpp.training.evaluation import bleu_on_split, evaluate_loss

    space, settings, out = module.space, cfg.supernet, {}
    os.environ["LLMPP_CACHE_DIR"] = str(tmp / "cache")
    before = os.times()
    prepare_corpus(cfg.task)  # may encode in worker processes: their CPU time counts too
    after = os.times()
    out["corpus build (first run only)"] = sum(after[:4]) - sum(before[:4])
    del os.environ["LLMPP_CACHE_DIR"]
    largest, smallest = space.largest(), space.smallest()
    valid = list(datamodule.loader("valid", shuffle=False))

    def validation() -> None:
        for arch in (largest, smallest):
            evaluate_loss(module.run_arch(arch), valid)

    out["one validation (largest + smallest)"] = _timed(validation)
    state = {"state_dict": module.state_dict(),
             "optimizer": torch.optim.Adam(module.parameters()).state_dict()}
    out["one checkpoint write"] = _timed(lambda: torch.save(state, tmp / "last.ckpt"))
    limit = settings.eval_bleu_limit
    for name, arch in (("largest", largest), ("smallest", smallest)):
        out[f"BLEU of {limit} sentences, {name}"] = _timed(
            lambda a=arch: bleu_on_split(module.run_arch(a), datamodule, "valid", limit=limit)
        )
    return out


# ---- main ------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batches", type=int, default=4, help="training batches per timing")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--archs", type=int, default=1, help="sampled sub-networks beside the two")
    parser.add_argument("--overheads", action="store_true",
                        help="also time the supernet step's costs besides training steps")
    parser.add_argument("--glibc-defaults", action="store_true",
                        help="leave malloc's thresholds as they are (the training stages raise "
                        "them: llmpp.training.host_memory)")
    parser.add_argument("overrides", nargs="*", help="overrides of `llmpp run`'s config")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not args.glibc_defaults:
        retain_freed_memory()
    cfg = compose("run", args.overrides)
    settings = cfg.supernet
    space = build(cfg.space, "space")
    datamodule = build_datamodule(cfg.data, cfg.task, int(cfg.seed))
    datamodule.setup()
    loader = datamodule.loader("train", shuffle=True, max_tokens=datamodule.max_tokens)
    it = iter(loader)
    data_seconds = _timed(lambda: [next(it) for _ in range(20)]) / 20
    batches = [next(it) for _ in range(args.batches)]
    tokens = sum(int(b["tgt_out"].ne(PAD).sum()) for b in batches)
    optim = build(settings.optim, "optim")

    def module(arch: Architecture | None = None, sampling: str = "largest"):
        model_cfg = cfg.model.copy()
        model_cfg.sampling = sampling
        return build_module(model_cfg, space=space, task=cfg.task, optim=optim,
                            seed=int(cfg.seed), arch=arch.to_hat() if arch else None)

    supernet_module = module()
    smoothing = float(cfg.model.label_smoothing)
    archs = {"largest": space.largest(), "smallest": space.smallest()}
    for i, arch in enumerate(space.sample(np.random.default_rng(0), args.archs)):
        archs[f"sampled {i + 1}"] = arch
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, space {space.name}, "
        f"task {cfg.task.name}, {args.batches} batches of <= {datamodule.max_tokens} padded "
        f"tokens ({tokens} target tokens), dropout {cfg.model.dropout}, "
        f"best of {args.repeats} interleaved rounds, "
        f"malloc {'glibc defaults' if args.glibc_defaults else 'freed memory retained'}"
    )
    supernet = supernet_module.model
    seconds = compare(archs, supernet, lambda a: module(a, "fixed"), batches, smoothing,
                      settings.trainer, args.repeats)
    supernet.set_arch(archs["largest"])
    print_breakdown(supernet, batches, smoothing, seconds, args.repeats, data_seconds)

    if args.overheads:
        print("\nthe demo supernet step's costs besides training steps (CPU s):")
        with tempfile.TemporaryDirectory() as tmp:
            for name, sec in demo_overheads(cfg, supernet_module, datamodule, Path(tmp)).items():
                print(f"  {name:<52} {sec:8.2f}")
        steps, interval = settings.trainer.max_steps, settings.trainer.val_check_interval
        every = settings.callbacks.checkpoint.every_n_train_steps
        print(f"  (the demo: {steps} steps, a validation every {interval}, a checkpoint every "
              f"{every}; one Lightning step here: {seconds['lightning'] / len(batches):.2f} s)")


if __name__ == "__main__":
    main()
