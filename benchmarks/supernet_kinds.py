"""Supernet kinds side by side: HAT vs layer-wise vs neuron-wise Mixture-of-Supernets.

Two parts, both on synthetic_en_de / hat_mini with the same seed for every kind:

``cost`` (in one process, interleaved): training-step time (forward + backward +
Adam) of each kind on the same batches with the same sampled architectures, as a
ratio to ``hat``; parameter + Adam-state memory (and peak CUDA memory on a GPU);
inherited-weight evaluations per second (validation loss of one sub-network).

``gold``: ``llmpp supernet model=<kind>`` with the same steps and seed for each kind,
one ``llmpp retrain`` gold set of ``--archs`` architectures trained from scratch, then
each kind scores that set through ``predictor=supernet`` (inherited validation loss):
mean gap to the from-scratch loss, Kendall tau against it, and the paper's protocol
(seeds 123/456/789) with a line calibrated on the demonstrations (MAE on valid BLEU).

    .venv/bin/python benchmarks/supernet_kinds.py cost --steps 6
    .venv/bin/python benchmarks/supernet_kinds.py gold --out /tmp/llmpp-kinds

Every step of ``gold`` reuses its run dir, so rerunning the same command resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# Passive OpenMP waiting, as llmpp's CLI sets it: the runtime reads it once, when torch
# loads, and busy-waiting threads distort timings on a shared CPU.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from scipy.stats import kendalltau

from llmpp.utils.paths import conf_dir

KINDS = ("hat", "layer_mos", "neuron_mos")
LLMPP = str(Path(sys.executable).with_name("llmpp"))
COMMON = [
    "task=synthetic_en_de",
    "space=hat_mini",
    "logger=csv",
    # The progress callback fails under a non-terminal stderr at the moment (reported).
    "~callbacks.progress",
]


# ---- cost -------------------------------------------------------------------------------
def build_kind(kind: str, space, vocab_size: int, device: str):
    """The supernet of ``conf/model/<kind>.yaml`` (seeded: same init for shared weights)."""
    from llmpp.training.module import build_supernet

    spec = OmegaConf.to_container(OmegaConf.load(conf_dir() / "model" / f"{kind}.yaml"))
    torch.manual_seed(0)
    return build_supernet(spec["supernet"], space, vocab_size).to(device)


def train_step(model, batch, optimizer) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of one step.

    CPU time is the steadier figure on a shared, oversubscribed CPU: waiting for a
    core does not count in it.
    """
    from llmpp.training.objective import label_smoothed_loss

    if batch["src"].is_cuda:
        torch.cuda.synchronize()
    start, cpu = time.perf_counter(), time.process_time()
    loss, _, n = label_smoothed_loss(model(batch["src"], batch["tgt_in"]), batch["tgt_out"], 0.1)
    (loss / n).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    if batch["src"].is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start, time.process_time() - cpu


def state_megabytes(model) -> float:
    """Parameters plus Adam's two moments, fp32."""
    return 3 * sum(p.numel() for p in model.parameters()) * 4 / 2**20


def run_cost(args) -> dict:
    from llmpp.data import TranslationDataModule
    from llmpp.training.evaluation import evaluate_loss

    space = instantiate(OmegaConf.load(conf_dir() / "space" / f"{args.space}.yaml"))
    task = OmegaConf.load(conf_dir() / "task" / "synthetic_en_de.yaml")
    dm = TranslationDataModule(task, max_tokens=args.max_tokens, valid_limit=args.valid_limit)
    dm.setup()
    loader = iter(dm.train_dataloader())
    batches = [{k: v.to(args.device) for k, v in next(loader).items()} for _ in range(args.steps)]
    archs = space.sample(np.random.default_rng(0), args.steps)
    models = {k: build_kind(k, space, int(task.vocab_size), args.device) for k in KINDS}
    opts = {k: torch.optim.Adam(m.parameters(), lr=1e-4) for k, m in models.items()}
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in KINDS}
    peak: dict[str, float] = {}
    for kind in KINDS:  # warm-up, and peak memory of one step per kind
        if args.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        models[kind].set_arch(space.largest())
        train_step(models[kind], batches[0], opts[kind])
        if args.device.startswith("cuda"):
            peak[kind] = torch.cuda.max_memory_allocated() / 2**20
    for arch, batch in zip(archs, batches, strict=True):  # interleaved: noise hits all alike
        for kind in KINDS:
            models[kind].set_arch(arch)
            times[kind].append(train_step(models[kind], batch, opts[kind]))
    valid = list(dm.loader("valid", shuffle=False))
    spent = {k: np.zeros(2) for k in KINDS}
    for arch in archs[: args.evals]:  # interleaved too
        for kind in KINDS:
            models[kind].set_arch(arch)
            start, cpu = time.perf_counter(), time.process_time()
            evaluate_loss(models[kind], valid)
            spent[kind] += (time.perf_counter() - start, time.process_time() - cpu)
    rates = {k: args.evals / spent[k] for k in KINDS}  # (wall, cpu) evaluations/s
    step = {k: np.median(np.asarray(times[k]), axis=0) for k in KINDS}  # (wall, cpu)
    result = {
        "device": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
        "steps": args.steps,
        "kinds": {
            k: {
                "step_time_vs_hat": float(step[k][0] / step["hat"][0]),
                "step_cpu_time_vs_hat": float(step[k][1] / step["hat"][1]),
                "state_MB": state_megabytes(models[k]),
                "state_vs_hat": state_megabytes(models[k]) / state_megabytes(models["hat"]),
                "peak_cuda_MB": peak.get(k),
                "inherited_evals_per_s": float(rates[k][0]),
                "evals_vs_hat": float(rates[k][0] / rates["hat"][0]),
                "evals_cpu_vs_hat": float(rates[k][1] / rates["hat"][1]),
                "median_step_ms": float(step[k][0]) * 1e3,  # absolute: report on a GPU only
            }
            for k in KINDS
        },
    }
    return result


# ---- gold -------------------------------------------------------------------------------
def hms(seconds: int) -> str:
    return f"00:{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def llmpp(*argv: str) -> None:
    subprocess.run([LLMPP, *argv], check=True)


def train_supernets(args, out: Path) -> dict[str, Path]:
    ckpts = {}
    for kind in args.kinds:
        run_dir = out / f"supernet-{kind}"
        ckpts[kind] = run_dir / "checkpoints" / "last.ckpt"
        llmpp(
            "supernet", *COMMON, f"model={kind}", f"seed={args.seed}",
            f"hydra.run.dir={run_dir}", f"trainer.max_steps={args.supernet_steps}",
            f"optim.warmup_steps={args.supernet_steps // 4}",
            f"trainer.val_check_interval={args.supernet_steps}", "eval_bleu_limit=20",
            f"data.max_tokens={args.max_tokens}",
        )  # fmt: skip
    return ckpts


def retrain_gold(args, out: Path) -> Path:
    gold = out / "retrain" / "gold"
    if not any(gold.glob("*/*/test.jsonl")):
        demos = max(2, args.archs // 3)
        llmpp(
            "retrain", *COMMON, f"seed={args.seed}", f"hydra.run.dir={out / 'retrain'}",
            f"n_archs={args.archs}", "sample_seed=1",
            f"split.demos={demos}", f"split.test={args.archs - demos}",
            f"trainer.max_steps={args.retrain_steps}",
            f"optim.warmup_steps={max(1, args.retrain_steps // 10)}",
            f"trainer.max_time={hms(args.retrain_seconds)}",
            f"trainer.val_check_interval={args.retrain_steps}", "eval_bleu_limit=50",
            f"data.max_tokens={args.max_tokens}",
        )  # fmt: skip
    return gold


def score_kind(ckpt: Path, gold: Path, valid_limit: int) -> dict:
    """Gap, tau and demo-calibrated MAE of one kind's inherited scores on the gold set.

    Each architecture is scored once through ``predictor=supernet``; the paper's
    protocol then fits, per seed, ``a * score + b`` to the demonstrations' valid BLEU
    (what ``predictor=calibrated`` does) and measures MAE / tau on that seed's test.
    """
    from llmpp.gold.records import read_records
    from llmpp.metrics.agreement import kendall_tau, mae, summarize
    from llmpp.predictors.base import TaskContext
    from llmpp.predictors.linear import fit_line
    from llmpp.predictors.supernet import SupernetPredictor
    from llmpp.task import TaskSpec
    from llmpp.training.module import TranslationModule

    module = TranslationModule.from_checkpoint(ckpt)
    splits = {
        d.parent.name: {s: read_records(d / f"{s}.jsonl") for s in ("train", "test")}
        for d in sorted(gold.glob("*/*"))
    }
    records = {r.arch.key(): r for split in splits.values() for rs in split.values() for r in rs}
    predictor = SupernetPredictor(checkpoint=str(ckpt), metric="loss", valid_limit=valid_limit)
    predictor.setup(TaskContext(task=TaskSpec.from_config(module.hparams.task), space=module.space))
    start = time.perf_counter()
    scores = dict(zip(records, predictor.predict([r.arch for r in records.values()]), strict=True))
    seconds = time.perf_counter() - start
    predictor.close()
    inherited = -np.asarray(list(scores.values()))
    scratch = np.asarray([r.gold["valid_loss"] for r in records.values()])
    per_seed = {"mae": [], "kendall": []}
    for split in splits.values():
        x = np.asarray([scores[r.arch.key()] for r in split["train"]])
        slope, intercept = fit_line(x, np.asarray([r.gold["valid_BLEU"] for r in split["train"]]))
        pred = slope * np.asarray([scores[r.arch.key()] for r in split["test"]]) + intercept
        gold_bleu = np.asarray([r.gold["valid_BLEU"] for r in split["test"]])
        per_seed["mae"].append(mae(pred, gold_bleu))
        per_seed["kendall"].append(kendall_tau(pred, gold_bleu))
    return {
        "archs": len(records),
        "kind": type(module.model).__name__,
        "gap_mean": float(np.mean(inherited - scratch)),
        "kendall_loss": float(kendalltau(inherited, scratch).statistic),
        "calibrated_mae_bleu": summarize(per_seed["mae"]),
        "calibrated_kendall_bleu": summarize(per_seed["kendall"]),
        "inherited_evals_per_s": len(records) / seconds,
        "inherited_valid_loss": inherited.tolist(),
        "scratch_valid_loss": scratch.tolist(),
    }


def run_gold(args) -> dict:
    out = Path(args.out)
    ckpts = train_supernets(args, out)
    gold = retrain_gold(args, out)
    result = {k: score_kind(ckpts[k], gold, args.valid_limit) for k in args.kinds}
    (out / "kinds.json").write_text(json.dumps(result, indent=2))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("cost", "gold"))
    parser.add_argument("--space", default="hat_mini")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=6, help="cost: timed steps per kind")
    parser.add_argument("--evals", type=int, default=3, help="cost: inherited evaluations")
    parser.add_argument("--max-tokens", type=int, default=1024)
    parser.add_argument("--valid-limit", type=int, default=100)
    parser.add_argument("--out", default="/tmp/llmpp-kinds")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--supernet-steps", type=int, default=200)
    parser.add_argument("--archs", type=int, default=12)
    parser.add_argument("--retrain-steps", type=int, default=60)
    parser.add_argument("--retrain-seconds", type=int, default=60)
    args = parser.parse_args()
    result = run_cost(args) if args.part == "cost" else run_gold(args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
