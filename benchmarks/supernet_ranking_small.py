"""Does the supernet rank architectures as training from scratch does? HAT vs MoS on hat_small.

One command, resumable; every piece is a content-addressed step of llmpp's pipeline
store (``llmpp.pipeline.store.StageStore``) under ``--root``: a piece's directory is
named by the hash of its settings, is reused when its ``result.json`` is there, and a
killed piece resumes in its own directory (the stages continue a run dir with agreeing
settings). Change a budget flag and only the pieces it feeds are redone.

Pieces (task synthetic_en_de, space hat_small):

- ``supernet``: ``llmpp supernet model=<kind>`` for hat, layer_mos and neuron_mos with
  the same batches, steps and seed, keeping three checkpoints of the same run (at a
  third, two thirds and all of ``--supernet-steps``).
- ``gold``: ``--archs`` architectures sampled across the GFLOPs range (evenly spaced
  GFLOPs quantiles of 2000 sampled ones), each ``llmpp retrain`` from scratch.
  Stopping rule: a cosine schedule of ``--gold-steps`` updates, validated every fifth
  of it; an architecture has *flattened* when each of its last two validation intervals
  improved the loss by less than ``--flat-tolerance`` (1 %). The report counts the ones
  that did not (then raise ``--gold-steps``).
- ``noise``: ``--noise-archs`` gold architectures retrained with another seed: the gold
  set's own noise (tau between seeds, mean |delta loss|, share of gold pairs closer than
  it).
- ``score``: each kind's inherited-weight validation loss of every gold architecture at
  each checkpoint, and inherited BLEU at the last one.

Report (``ranking.json``, a Markdown table on stdout, plots with ``--plots``): per kind
Kendall tau of inherited vs from-scratch validation loss, of inherited vs scratch BLEU,
and of inherited loss vs scratch BLEU; the mean gap (inherited - scratch loss);
precision of the top 5 (by loss); the MAE of a line fitted on 4 demonstrations (the
paper's protocol, seeds 123/456/789); tau at the three checkpoints.

    .venv/bin/python benchmarks/supernet_ranking_small.py --root /tmp/llmpp-ranking \\
        --plots docs/img                                     # ~90 min on two idle cores
    .venv/bin/python benchmarks/supernet_ranking_small.py --reduced --root /tmp/r
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from omegaconf import DictConfig, OmegaConf

from llmpp.pipeline.store import StageStore

KINDS = ("hat", "layer_mos", "neuron_mos")
LLMPP = str(Path(sys.executable).with_name("llmpp"))
COMMON = ["task=synthetic_en_de", "space=hat_small", "logger=csv", "~callbacks.progress"]
# The full run's budget (about 90 minutes with --jobs 2 on two idle cores) and the
# reduced one that checks the whole benchmark end to end in about 15 CPU minutes.
# Pre-norm layers (``--norm pre``, model.normalize_before=true): under HAT's post-norm the
# 12-layer architectures were still above 3.2 nats after 400 steps whatever the warmup and
# peak, pre-norm reached 1.61 (docs/BENCHMARKS.md, "Supernet ranking on hat_small").
# Step costs behind it: the largest architecture trains 400 steps of 2048 tokens in
# 264 s on one thread beside another such job; an average one about 0.65 of that, so
# 3 x 2000 supernet steps ~ 55 core-minutes, 23 x 600 from-scratch steps ~ 100, start-ups
# and scoring ~ 15.
FULL = {"supernet_steps": 2000, "archs": 20, "gold_steps": 600, "noise_archs": 3,
        "valid_limit": 400, "bleu_limit": 100, "max_tokens": 2048, "supernet_lr": 0.002,
        "norm": "pre"}
REDUCED = {"supernet_steps": 120, "archs": 8, "gold_steps": 80, "noise_archs": 2,
           "valid_limit": 100, "bleu_limit": 20, "max_tokens": 1024, "supernet_lr": 0.002,
           "norm": "pre"}
NORMS = {"pre": "true", "post": "false"}  # --norm -> model.normalize_before


# ---- pieces -----------------------------------------------------------------------------
def run_logged(cmd: list[str], out_dir: Path, threads: int) -> None:
    """Run an ``llmpp`` stage into ``out_dir`` with its output in ``out_dir/stage.log``."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    with (out_dir / "stage.log").open("a") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}); see {out_dir}/stage.log")


def supernet_piece(cfg: DictConfig, out_dir: Path, threads: int) -> dict[str, Any]:
    """One kind's supernet; its three checkpoints by step."""
    steps = int(cfg.steps)
    every = steps // 3
    run_logged([LLMPP, "supernet", *COMMON, f"model={cfg.kind}", f"seed={cfg.seed}",
                f"model.normalize_before={NORMS[cfg.norm]}",
                f"trainer.max_steps={steps}", f"optim.warmup_steps={max(1, steps // 10)}",
                f"optim.max_lr={cfg.max_lr}",
                f"trainer.val_check_interval={every}", f"data.max_tokens={cfg.max_tokens}",
                f"callbacks.checkpoint.every_n_train_steps={every}",
                "callbacks.checkpoint.save_top_k=-1", "eval_bleu_limit=20",
                f"hydra.run.dir={out_dir}"], out_dir, threads)
    found = {int(p.stem.removeprefix("step")): str(p)
             for p in (out_dir / "checkpoints").glob("step*.ckpt")}
    wanted = [every, 2 * every, 3 * every]
    missing = [s for s in wanted if s not in found]
    if missing:
        raise SystemExit(f"{out_dir}: no checkpoint at steps {missing}")
    return {"checkpoints": {str(s): found[s] for s in wanted}}


def val_history(out_dir: Path) -> list[tuple[int, float]]:
    """(step, validation loss) of every validation the CSV logger recorded."""
    rows = []
    for path in sorted(out_dir.rglob("metrics.csv")):
        with path.open() as handle:
            for row in csv.DictReader(handle):
                if row.get("val/loss"):
                    rows.append((int(row["step"]), float(row["val/loss"])))
    return sorted(set(rows))


def flattened(history: list[tuple[int, float]], tolerance: float) -> bool:
    """The stopping rule: each of the last two validation intervals improved by < tolerance.

    Two intervals, not one: under the cosine schedule the last fifth runs at a nearly
    annealed learning rate, so its improvement alone is small even for a network that
    is still learning; the fifth before it (at 60-80 % of the run) still has a third of
    the peak rate or more.
    """
    if len(history) < 3:
        return False
    losses = [loss for _, loss in history[-3:]]
    return all((before - after) / abs(before) < tolerance
               for before, after in zip(losses, losses[1:], strict=False))


def gold_piece(cfg: DictConfig, out_dir: Path, threads: int) -> dict[str, Any]:
    """One architecture from scratch; its scores and validation-loss history."""
    arch_file = out_dir / "arch.yaml"
    arch_file.write_text(yaml.safe_dump(OmegaConf.to_container(cfg.arch)))
    steps = int(cfg.steps)
    run_logged([LLMPP, "retrain", *COMMON, f"arch={arch_file}", f"seed={cfg.seed}",
                f"model.normalize_before={NORMS[cfg.norm]}",
                f"trainer.max_steps={steps}", f"optim.warmup_steps={max(1, steps // 10)}",
                f"trainer.val_check_interval={max(1, steps // 5)}",
                f"data.max_tokens={cfg.max_tokens}", f"data.valid_limit={cfg.valid_limit}",
                f"eval_bleu_limit={cfg.bleu_limit}", f"hydra.run.dir={out_dir}"],
               out_dir, threads)
    result = json.loads((out_dir / "retrain.json").read_text())
    keep = ("valid_loss", "valid_BLEU", "test_loss", "test_BLEU", "steps", "wall_seconds")
    return {**{k: result[k] for k in keep}, "history": val_history(out_dir)}


def score_piece(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    """Inherited-weight validation loss (and BLEU) of the gold architectures."""
    from llmpp.config import build
    from llmpp.predictors.base import TaskContext
    from llmpp.predictors.supernet import SupernetPredictor
    from llmpp.space.architecture import Architecture
    from llmpp.task import TaskSpec, load_task_config
    from llmpp.utils.paths import conf_dir

    space = build(OmegaConf.load(conf_dir() / "space" / "hat_small.yaml"), "space")
    context = TaskContext(task=TaskSpec.from_config(load_task_config("synthetic_en_de")),
                          space=space)
    archs = [Architecture.from_hat(OmegaConf.to_container(a)) for a in cfg.archs]
    out: dict[str, Any] = {}
    for metric in ["loss", *(["bleu"] if cfg.bleu else [])]:
        predictor = SupernetPredictor(checkpoint=str(cfg.checkpoint), metric=metric,
                                      valid_limit=int(cfg.valid_limit))
        predictor.setup(context)
        started = time.perf_counter()
        scores = predictor.predict(archs)
        out[f"{metric}_seconds"] = time.perf_counter() - started
        predictor.close()
        # -score: the predictor answers -loss (higher is better).
        out[metric] = [-float(s) if metric == "loss" else float(s) for s in scores]
    return out


# ---- the gold architectures ---------------------------------------------------------------
def gold_archs(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` distinct architectures at evenly spaced GFLOPs quantiles of 2000 sampled."""
    from llmpp.config import build
    from llmpp.metrics.efficiency import efficiency
    from llmpp.task import load_task_config
    from llmpp.utils.paths import conf_dir

    space = build(OmegaConf.load(conf_dir() / "space" / "hat_small.yaml"), "space")
    vocab = int(load_task_config("synthetic_en_de").vocab_size)
    pool = list({a.key(): a for a in space.sample(np.random.default_rng(seed), 2000)}.values())
    pool.sort(key=lambda a: efficiency(a, vocab, space.qkv_dim).total_flops)
    picks = np.linspace(0, len(pool) - 1, n).round().astype(int)
    return [pool[i].to_hat() for i in picks]


# ---- the benchmark ------------------------------------------------------------------------
def budget(args: argparse.Namespace) -> dict[str, Any]:
    """The budget flags, the reduced defaults under ``--reduced``, explicit flags winning."""
    base = REDUCED if args.reduced else FULL
    return {k: base[k] if getattr(args, k) is None else getattr(args, k) for k in base}


def build_all(root: Path, b: dict[str, Any], seed: int, jobs: int) -> dict[str, Any]:
    """Every piece (reused when done), ``jobs`` training pieces at a time."""
    store = StageStore(root)
    threads = max(1, (os.cpu_count() or 2) // jobs)
    archs = gold_archs(int(b["archs"]))
    noise = [archs[i] for i in np.linspace(0, len(archs) - 1, b["noise_archs"]).round()
             .astype(int)] if b["noise_archs"] else []
    data = {"max_tokens": b["max_tokens"], "norm": b["norm"]}
    gold_common = {**data, "steps": b["gold_steps"], "valid_limit": b["valid_limit"],
                   "bleu_limit": b["bleu_limit"]}
    jobs_list: list[tuple[str, str, DictConfig, Callable]] = []
    for kind in KINDS:
        cfg = OmegaConf.create({"kind": kind, "seed": seed, "steps": b["supernet_steps"],
                                "max_lr": b["supernet_lr"], **data})
        jobs_list.append(("supernet", kind, cfg, supernet_piece))
    for i, arch in enumerate(archs):
        cfg = OmegaConf.create({"arch": arch, "seed": seed, **gold_common})
        jobs_list.append(("gold", str(i), cfg, gold_piece))
    for i, arch in enumerate(noise):
        cfg = OmegaConf.create({"arch": arch, "seed": seed + 1, **gold_common})
        jobs_list.append(("noise", str(i), cfg, gold_piece))

    def one(job: tuple[str, str, DictConfig, Callable]) -> tuple[str, str, dict[str, Any]]:
        stage, name, cfg, fn = job
        result, reused = store.ensure(stage, cfg, lambda c, d: fn(c, d, threads))
        print(f"{stage} {name}: {'reused' if reused else 'built'} {store.dir_for(stage, cfg)}",
              flush=True)
        return stage, name, dict(result)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = list(pool.map(one, jobs_list))
    supernets = {n: r for s, n, r in done if s == "supernet"}
    gold = [r for s, _, r in done if s == "gold"]
    retrained = [r for s, _, r in done if s == "noise"]
    scores: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        ckpts = supernets[kind]["checkpoints"]
        last = max(ckpts, key=int)
        for step, ckpt in ckpts.items():
            cfg = OmegaConf.create({"checkpoint": ckpt, "archs": archs, "bleu": step == last,
                                    "valid_limit": b["valid_limit"]})
            result, _ = store.ensure("score", cfg, score_piece)
            scores.setdefault(kind, {})[int(step)] = dict(result)
    return {"archs": archs, "gold": gold, "noise_archs": noise, "noise": retrained,
            "scores": scores}


# ---- the report -------------------------------------------------------------------------
def noise_report(gold: list[dict[str, Any]], archs: list[dict[str, Any]],
                 noise_archs: list[dict[str, Any]], retrained: list[dict[str, Any]]
                 ) -> dict[str, Any]:
    """The gold set's own noise: the same architectures trained with another seed."""
    from llmpp.metrics.agreement import kendall_tau

    if not retrained:
        return {}
    first = [gold[archs.index(a)]["valid_loss"] for a in noise_archs]
    second = [r["valid_loss"] for r in retrained]
    delta = float(np.mean(np.abs(np.subtract(first, second))))
    losses = np.asarray([g["valid_loss"] for g in gold])
    gaps = np.abs(losses[:, None] - losses[None, :])[np.triu_indices(len(losses), 1)]
    return {"archs": len(second), "kendall_between_seeds": kendall_tau(first, second),
            "mean_abs_delta_loss": delta,
            # Gold pairs closer than the seed noise: their order is a coin toss, a ceiling
            # on any predictor's tau.
            "pairs_within_noise": float(np.mean(gaps < delta))}


# The paper's protocol: per seed, a line fitted on 4 demonstrations, scored on the rest.
CALIBRATION_SEEDS = (123, 456, 789)
DEMOS = 4


def calibrated_mae(inherited_loss: np.ndarray, scratch_bleu: np.ndarray) -> dict[str, float]:
    """MAE (valid BLEU) of ``a * (-inherited loss) + b`` fitted on demonstrations.

    Per seed, ``DEMOS`` gold architectures drawn at random are the demonstrations (what
    ``predictor=calibrated`` fits on); the MAE is over the others. Mean and std over seeds.
    """
    from llmpp.metrics.agreement import mae, summarize
    from llmpp.predictors.linear import fit_line

    maes = []
    for seed in CALIBRATION_SEEDS:
        order = np.random.default_rng(seed).permutation(len(scratch_bleu))
        demos, test = order[:DEMOS], order[DEMOS:]
        slope, intercept = fit_line(-inherited_loss[demos], scratch_bleu[demos])
        maes.append(mae(slope * -inherited_loss[test] + intercept, scratch_bleu[test]))
    return summarize(maes)


def kind_report(score: dict[int, dict[str, Any]], gold: list[dict[str, Any]]) -> dict[str, Any]:
    from llmpp.metrics.agreement import kendall_tau, precision_at_k

    scratch_loss = np.asarray([g["valid_loss"] for g in gold])
    scratch_bleu = np.asarray([g["valid_BLEU"] for g in gold])
    last = score[max(score)]
    inherited = np.asarray(last["loss"])
    out = {
        "tau_loss": kendall_tau(inherited, scratch_loss),
        "tau_bleu": kendall_tau(np.asarray(last["bleu"]), scratch_bleu),
        "tau_loss_vs_scratch_bleu": kendall_tau(-inherited, scratch_bleu),
        "gap_mean": float(np.mean(inherited - scratch_loss)),
        # Higher is better for precision_at_k: rank by negated losses.
        "precision_at_5": precision_at_k(-inherited, -scratch_loss, 5),
        "calibrated_mae_bleu": calibrated_mae(inherited, scratch_bleu),
        "tau_by_step": {str(step): kendall_tau(np.asarray(s["loss"]), scratch_loss)
                        for step, s in sorted(score.items())},
        "inherited_valid_loss": inherited.tolist(),
        "inherited_valid_BLEU": last["bleu"],
        "seconds_per_arch_loss": last["loss_seconds"] / len(gold),
    }
    return out


def report(built: dict[str, Any], b: dict[str, Any], tolerance: float) -> dict[str, Any]:
    gold = built["gold"]
    flat = [flattened([tuple(h) for h in g["history"]], tolerance) for g in gold]
    return {
        "budget": b,
        "gold": {"archs": len(gold), "flattened": int(sum(flat)), "tolerance": tolerance,
                 "valid_loss": [g["valid_loss"] for g in gold],
                 "valid_BLEU": [g["valid_BLEU"] for g in gold],
                 "history": [g["history"] for g in gold]},
        "noise": noise_report(gold, built["archs"], built["noise_archs"], built["noise"]),
        "kinds": {k: kind_report(s, gold) for k, s in built["scores"].items()},
    }


def markdown(result: dict[str, Any]) -> str:
    steps = list(next(iter(result["kinds"].values()))["tau_by_step"])
    lines = ["| kind | τ loss | τ BLEU | τ loss vs scratch BLEU | mean gap (nats) | P@5 | "
             "MAE after demo calibration (valid BLEU) | "
             + " | ".join(f"τ loss @{s}" for s in steps) + " |",
             "|---|---|---|---|---|---|---|" + "---|" * len(steps)]
    for kind, r in result["kinds"].items():
        cal = r["calibrated_mae_bleu"]
        lines.append(f"| {kind} | {r['tau_loss']:.3f} | {r['tau_bleu']:.3f} "
                     f"| {r['tau_loss_vs_scratch_bleu']:.3f} | {r['gap_mean']:+.3f} "
                     f"| {r['precision_at_5']:.2f} | {cal['mean']:.2f} ± {cal['std']:.2f} | "
                     + " | ".join(f"{r['tau_by_step'][s]:.3f}" for s in steps) + " |")
    g, n = result["gold"], result["noise"]
    lines.append(f"\ngold set: {g['archs']} architectures, {g['flattened']} flattened "
                 f"(last two validations each improved < {g['tolerance']:.0%}); valid loss "
                 f"{min(g['valid_loss']):.3f}-{max(g['valid_loss']):.3f}, valid BLEU "
                 f"{min(g['valid_BLEU']):.2f}-{max(g['valid_BLEU']):.2f}")
    if n:
        lines.append(f"gold noise ({n['archs']} archs, another seed): "
                     f"τ {n['kendall_between_seeds']:.3f}"
                     f", mean |Δ loss| {n['mean_abs_delta_loss']:.4f}, gold pairs closer than "
                     f"that: {n['pairs_within_noise']:.0%}")
    return "\n".join(lines)


def plots(result: dict[str, Any], out_dir: Path, tag: str) -> list[Path]:
    """Inherited vs scratch loss per kind; tau against the supernet's steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    kinds = result["kinds"]
    scratch = result["gold"]["valid_loss"]
    fig, axes = plt.subplots(1, len(kinds), figsize=(4 * len(kinds), 3.6), squeeze=False)
    for ax, (kind, r) in zip(axes[0], kinds.items(), strict=True):
        ax.scatter(scratch, r["inherited_valid_loss"], c=result["gold"]["valid_BLEU"],
                   cmap="viridis")
        ax.set_title(f"{kind}: τ {r['tau_loss']:.2f}", fontsize=9)
        ax.set_xlabel("from-scratch valid loss")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("inherited valid loss")
    fig.tight_layout()
    scatter = out_dir / f"ranking_scatter_{tag}.png"
    fig.savefig(scatter, dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for kind, r in kinds.items():
        steps = [int(s) for s in r["tau_by_step"]]
        ax.plot(steps, list(r["tau_by_step"].values()), marker="o", label=kind)
    ax.set_xlabel("supernet training steps")
    ax.set_ylabel("Kendall τ, inherited vs scratch valid loss")
    ax.axhline(0.8, color="grey", linestyle=":", linewidth=1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    steps_png = out_dir / f"ranking_tau_steps_{tag}.png"
    fig.savefig(steps_png, dpi=110)
    plt.close(fig)
    return [scatter, steps_png]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/llmpp-ranking"))
    parser.add_argument("--reduced", action="store_true",
                        help="the reduced budget (~15 CPU minutes) that validates the run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="training pieces run at once")
    parser.add_argument("--flat-tolerance", type=float, default=0.01)
    parser.add_argument("--plots", type=Path, help="write the PNGs into this folder")
    for key in FULL:
        parser.add_argument(f"--{key.replace('_', '-')}", type=type(FULL[key]), default=None,
                            choices=list(NORMS) if key == "norm" else None,
                            help=f"full: {FULL[key]}, reduced: {REDUCED[key]}")
    args = parser.parse_args()
    b = budget(args)
    started = time.perf_counter()
    result = report(build_all(args.root, b, args.seed, args.jobs), b, args.flat_tolerance)
    result["wall_seconds"] = time.perf_counter() - started
    (args.root / "ranking.json").write_text(json.dumps(result, indent=1))
    if args.plots:
        plots(result, args.plots, "reduced" if args.reduced else "full")
    print(markdown(result))


if __name__ == "__main__":
    main()
