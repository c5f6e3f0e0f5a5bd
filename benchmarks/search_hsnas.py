"""HS-NAS vs supernet-only evolution, unbiased: nothing shared between searches.

Every search starts cold on the same trained supernet and Distill-PP: fresh
predictors and a fresh memo (its cache hits are reported), after a warm-up search
that pays the process's one-time costs; ``SupernetPredictor`` keeps no process-wide
state, so no score computed for one search can reach another. By default the
searches of a run share one driver process (start-up costs minutes on a loaded
machine); ``--own-process`` runs each as its own ``llmpp search``. Steps (each
skipped when its output exists):

1. ``supernet``: train the supernet (``llmpp supernet``) on ``--task`` / ``--space``
   (synthetic_en_de / hat_mini by default).
2. ``labels``: score distinct random architectures with the supernet (a subset of the
   validation pairs): the teacher of a real Distill-PP, in its own process.
3. ``distill``: train Distill-PP on those labels (``llmpp distill``).
4. ``search``: every search x seed, under a GFLOPs limit at the median GFLOPs of the
   space; wall clock, evaluations and seconds by predictor, validation pairs scored,
   shared encoder passes and the memo's cache hits come from its ``search.json`` /
   ``search_state.json``.
5. ``rescore``: every best architecture scored by the same supernet on all
   validation pairs (its own process), so all searches meet on one scale.
6. ``retrain``: every distinct best architecture trained from scratch with one
   budget (``llmpp retrain archs=``), valid and test BLEU.

Seeds can run as separate drivers, one per core (``taskset -c N``, ``--root`` per
seed); ``--merge <roots>`` then reports them together.

Usage (prints a Markdown table; ``--root`` keeps every artifact):
    .venv/bin/python benchmarks/search_hsnas.py --root /tmp/bench --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

BIN = Path(sys.executable).parent
# No `nice`: a niced search next to any un-niced job gets a tenth of a core, and its
# time would measure the neighbour.
RACING = ["++search.predictors.supernet.race_fraction={race_fraction}",
          "++search.predictors.supernet.race_keep={parents}"]
SEARCHES = {
    # The baseline: supernet-only evolution with llmpp's supernet predictor.
    "evolution": ["search=evolution"],
    # The same with every architecture run whole (no shared encoder passes): HAT's cost.
    "evolution_whole": ["search=evolution", "++search.predictors.supernet.reuse_encoder=false"],
    "hs_nas_fixed": ["search=hs_nas"],
    "hs_nas_racing": ["search=hs_nas", *RACING],
    "hs_nas_racing_late": ["search=hs_nas", *RACING,
                           "search.schedule.switch_fraction={late_switch}"],
    "hs_nas_adaptive": ["search=hs_nas_adaptive"],
    "random": ["search=random", "search.population_size={random_samples}",
               "search.keep={parents}"],
    # llmpp's fastest HS-NAS preset as it ships (switch at 2/3, racing a quarter).
    "hsnas_fast": ["experiment=hsnas_fast"],
}


# ---- the command lines (the only place that knows the stages' keys) ------------------------
def supernet_cmd(root: Path, args) -> list[str]:
    # ~callbacks.progress: the progress callback fails without a terminal (being fixed).
    return [str(BIN / "llmpp"), "supernet", "logger=csv", f"space={args.space}",
            f"task={args.task}",
            f"hydra.run.dir={root / 'supernet'}",
            f"trainer.max_steps={args.supernet_steps}", "~callbacks.progress",
            *args.train_override]


def link_supernet(root: Path, checkpoint: Path) -> float:
    """Use an already trained supernet (e.g. the ranking benchmark's) as step 1's output."""
    if not checkpoint.is_file():
        raise SystemExit(f"--supernet-checkpoint {checkpoint}: no such file")
    target = root / "supernet" / "checkpoints" / "last.ckpt"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(checkpoint.resolve())
    return 0.0


def distill_cmd(root: Path, args) -> list[str]:
    return [str(BIN / "llmpp"), "distill", f"task={args.task}", f"space={args.space}",
            f"labels={root / 'labels.jsonl'}", "logger=csv", "regressor.progress_bar=false",
            f"hydra.run.dir={root / 'distill'}"]


def search_cmd(root: Path, name: str, seed: int, limit: float, args) -> list[str]:
    budget = {"population": args.population, "parents": args.parents,
              "race_fraction": args.race_fraction, "late_switch": args.late_switch,
              "random_samples": args.random_samples or args.population}
    evolution = [] if name == "random" else [
        f"search.population_size={args.population}", f"search.parents={args.parents}",
        f"search.mutations={args.children}", f"search.crossovers={args.children}"]
    return [str(BIN / "llmpp"), "search", "logger=none", "search.tracking.progress=false",
            f"space={args.space}", f"task={args.task}", f"seed={seed}",
            *[o.format(**budget) for o in SEARCHES[name]],
            f"search.iterations={args.iterations}", *evolution,
            f"search.supernet_checkpoint={root / 'supernet/checkpoints/last.ckpt'}",
            f"search.distill_checkpoint={root / 'distill/distill.ckpt'}",
            f"search.predictors.supernet.valid_limit={args.valid_limit}",
            "constraint=gflops", f"constraint.limit={limit}",
            f"hydra.run.dir={root / 'search' / f'{name}_{seed}'}"]


def retrain_cmd(root: Path, archs: Path, args) -> list[str]:
    return [str(BIN / "llmpp"), "retrain", f"archs={archs}", "logger=csv", f"space={args.space}",
            f"task={args.task}", f"trainer.max_steps={args.retrain_steps}",
            f"trainer.val_check_interval={args.retrain_steps}", "eval_bleu_limit=200",
            "~callbacks.progress", *args.train_override,
            f"hydra.run.dir={root / 'retrain'}"]


# ---- steps ------------------------------------------------------------------------------
def run(cmd: list[str], log: Path) -> float:
    """Run ``cmd`` with its output to ``log``; returns its wall seconds."""
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}); see {log}")
    return time.perf_counter() - started


def python_step(step: str, root: Path, args, log: Path) -> float:
    """One of this script's in-library steps, in its own process."""
    return run([sys.executable, __file__, "--root", str(root), "--step", step,
                "--labels", str(args.labels), "--label-limit", str(args.label_limit),
                "--space", args.space, "--task", args.task], log)


def _context(space_name: str, task_name: str):
    from omegaconf import OmegaConf

    from llmpp.config import build
    from llmpp.predictors.base import TaskContext
    from llmpp.predictors.supernet import SupernetPredictor
    from llmpp.task import TaskSpec, load_task_config
    from llmpp.utils.paths import conf_dir

    space = build(OmegaConf.load(conf_dir() / "space" / f"{space_name}.yaml"), "space")
    task = TaskSpec.from_config(load_task_config(task_name))
    return space, TaskContext(task=task, space=space), SupernetPredictor


def label_step(root: Path, args) -> None:
    """Supernet scores of distinct random architectures as Distill-PP's labels."""
    space, context, Supernet = _context(args.space, args.task)
    ckpt = str(root / "supernet/checkpoints/last.ckpt")
    predictor = Supernet(checkpoint=ckpt, valid_limit=args.label_limit)
    predictor.setup(context)
    archs = list({a.key(): a for a in space.sample(np.random.default_rng(0), args.labels)}.values())
    scores = predictor.predict(archs)
    rows = [{"arch": a.to_hat(), "arch_key": a.key(), "prediction": float(s), "std": None,
             "samples": [], "failure": None, "backend": "supernet", "model": ckpt,
             "prompt": f"-valid loss, first {args.label_limit} pairs",
             "task": args.task, "seed": 0} for a, s in zip(archs, scores, strict=True)]
    from llmpp.labels.format import write_labels

    write_labels(root / "labels.jsonl", rows)


def rescore_step(root: Path, space_name: str, task_name: str) -> None:
    """Each search's best architecture on all validation pairs, one supernet, one process."""
    from llmpp.space.architecture import Architecture

    space, context, Supernet = _context(space_name, task_name)
    predictor = Supernet(checkpoint=str(root / "supernet/checkpoints/last.ckpt"),
                         valid_limit=None)
    predictor.setup(context)
    bests = {p.parent.name: json.loads(p.read_text())["best"]["arch"]
             for p in sorted((root / "search").glob("*/search.json")) if p.parent.name != "warmup"}
    scores = predictor.predict([Architecture.from_hat(a) for a in bests.values()])
    (root / "rescore.json").write_text(json.dumps(dict(zip(bests, scores.tolist(),
                                                           strict=True)), indent=1))


def searches_step(root: Path, args, limit: float) -> None:
    """Every search x seed in this one process, each with fresh predictors and memo.

    ``SupernetPredictor`` keeps no process-wide memo, so a search built here starts as
    cold as in its own process (its memo's cache hits are reported); a warm-up search
    first pays the one-time costs (imports, kernels), which would otherwise fall on
    whichever search ran first. One process saves minutes of start-up per search on a
    loaded machine; ``--own-process`` runs each as its own ``llmpp search`` instead.
    """
    import torch

    from llmpp.config import compose
    from llmpp.stages.search import run_search

    torch.set_num_threads(args.threads)

    timings_path = root / "timings.json"
    for seed, name in [(None, "evolution"), *[(s, n) for s in args.seeds for n in SEARCHES]]:
        key = "warmup" if seed is None else f"{name}_{seed}"
        out_dir = root / "search" / key
        if (out_dir / "search.json").is_file():
            continue
        overrides = search_cmd(root, name, seed or 0, limit, args)[2:-1]  # no binary/run dir
        if seed is None:
            overrides += ["search.iterations=1"]
        started = time.perf_counter()
        run_search(compose("search", overrides), out_dir)
        timings = json.loads(timings_path.read_text()) if timings_path.is_file() else {}
        timings[key] = time.perf_counter() - started
        timings_path.write_text(json.dumps(timings, indent=1))


def gflops_limit(space_name: str, task_name: str) -> float:
    """The median GFLOPs of the space's random architectures: a constraint that bites."""
    from llmpp.metrics.efficiency import efficiency

    space, context, _ = _context(space_name, task_name)
    archs = space.sample(np.random.default_rng(0), 500)
    flops = [efficiency(a, context.task.vocab_size, space.qkv_dim).total_flops / 1e9
             for a in archs]
    return round(float(np.median(flops)), 4)


def retrain_step(root: Path, args) -> float:
    """Every distinct best architecture from scratch, one budget, one ``llmpp retrain``."""
    import yaml

    bests = {}
    for path in sorted((root / "search").glob("*/search.json")):
        if path.parent.name.rpartition("_")[0] not in SEARCHES:  # warm-up, --skip
            continue
        arch = json.loads(path.read_text())["best"]["arch"]
        bests[json.dumps(arch, sort_keys=True)] = arch
    archs = root / "best_archs.yaml"
    archs.write_text(yaml.safe_dump(list(bests.values())))
    return run(retrain_cmd(root, archs, args), root / "retrain.log")


# ---- the report -------------------------------------------------------------------------
def _yaml(path: Path) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(path.read_text())


def _retrained(root: Path) -> dict[str, dict[str, Any]]:
    path = root / "retrain" / "retrain.json"
    if not path.is_file():
        return {}
    results = json.loads(path.read_text())
    results = results.get("results", results) if isinstance(results, dict) else results
    return {json.dumps(r["arch"], sort_keys=True): r for r in results}


def collect(root: Path, name: str, seed: int) -> dict[str, Any]:
    run_dir = root / "search" / f"{name}_{seed}"
    payload = json.loads((run_dir / "search.json").read_text())
    memo = json.loads((run_dir / "search_state.json").read_text())["memo"]
    timings = json.loads((root / "timings.json").read_text())
    evals, secs = payload["evaluations"]["by_predictor"], payload["wall_seconds"]["by_predictor"]
    supernet = payload["cost"].get("supernet", {})
    saved = _yaml(run_dir / "search_config.yaml")
    # The search step's block nests the algorithm's keys under `search` (older runs: top level).
    config = saved.get("search", saved)["predictors"]["supernet"]
    full, subset = supernet.get("evaluations", 0), supernet.get("subset_evaluations", 0)
    pairs = supernet.get("pairs_scored")  # what ran; older runs: what the counts imply
    limit = config.get("valid_limit")  # none: a stand-in predictor that reads no pairs
    if pairs is None:
        pairs = 0 if limit is None else full * limit + subset * math.ceil(
            (config.get("race_fraction") or 0) * limit)
    return {
        "process": timings[f"{name}_{seed}"], "loop": payload["wall_seconds"]["total"],
        "supernet_evals": full, "distill_evals": evals.get("llm_distill", 0),
        "subset_evals": subset, "pairs": pairs,
        "supernet_s": secs.get("supernet", 0.0), "distill_s": secs.get("llm_distill", 0.0),
        "hits": sum(memo.get("hits", {}).values()),
        "encoder_reuses": supernet.get("encoder_reuses", 0),
        "rescored": json.loads((root / "rescore.json").read_text())[run_dir.name],
        "arch": json.dumps(payload["best"]["arch"], sort_keys=True),
    }


def report(root: Path, seeds: list[int], wall_seeds: list[int] | None = None) -> None:
    """The table over the searches that finished (a search missing a seed shows fewer).

    Wall-clock columns average ``wall_seeds`` (default: all): seeds whose timings were
    disturbed can be left out of them while their work and quality still count.
    """
    done = {(n, s) for n in SEARCHES for s in seeds
            if (root / "search" / f"{n}_{s}" / "search.json").is_file()}
    rows = {n: {s: collect(root, n, s) for s in seeds if (n, s) in done} for n in SEARCHES}
    base = rows["evolution"]
    wall_seeds = seeds if wall_seeds is None else wall_seeds
    retrained = _retrained(root)
    print("| search | process s | search s | wall vs evolution | s supernet / distill "
          "| supernet evals full / subset | valid pairs scored vs evolution | distill evals "
          "| cache hits | shared encoder passes | best, −loss all valid pairs "
          "| Δ vs evolution (worst seed) | retrained valid / test BLEU (seeds) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, per_seed in rows.items():
        paired = [s for s in per_seed if s in base]
        timed = [s for s in paired if s in wall_seeds]
        if not paired:
            continue
        runs, timed_runs = [per_seed[s] for s in paired], [per_seed[s] for s in timed]
        ratio = np.mean([per_seed[s]["loop"] / base[s]["loop"] for s in timed] or [np.nan])
        work = np.mean([per_seed[s]["pairs"] / base[s]["pairs"] for s in paired])
        losses = [(per_seed[s]["rescored"] - base[s]["rescored"]) / abs(base[s]["rescored"])
                  * 100 for s in paired]
        by_arch: dict[str, list[int]] = {}
        for seed, run_ in zip(paired, runs, strict=True):
            by_arch.setdefault(run_["arch"], []).append(seed)
        bleu_text = " · ".join(
            f"{retrained[a]['valid_BLEU']:.2f} / {retrained[a]['test_BLEU']:.2f} "
            f"({' '.join(map(str, ss))})" for a, ss in by_arch.items() if a in retrained
        ) or "not run"

        def mean(key: str, runs: list[dict[str, Any]] = runs) -> float:
            return float(np.mean([r[key] for r in runs])) if runs else float("nan")

        print(f"| {name} | {mean('process', timed_runs):.0f} | {mean('loop', timed_runs):.0f} "
              f"| {ratio:.2f} | {mean('supernet_s', timed_runs):.0f} / "
              f"{mean('distill_s', timed_runs):.2f} "
              f"| {mean('supernet_evals'):.0f} / {mean('subset_evals'):.0f} | {work:.2f} "
              f"| {mean('distill_evals'):.0f} | {mean('hits'):.0f} "
              f"| {mean('encoder_reuses'):.0f} | {mean('rescored'):.4f} "
              f"| {np.mean(losses):+.2f} % ({min(losses):+.2f} %) | {bleu_text} |")
    print(f"\nwall-clock columns: means over seeds {' '.join(map(str, wall_seeds))}; the rest "
          f"over seeds {' '.join(map(str, seeds))}; ratios and Δ are per-seed pairs with "
          "evolution, averaged")


def merge(root: Path, sources: list[Path]) -> None:
    """One root over seed drivers' roots: their artifacts and searches linked, timings joined."""
    (root / "search").mkdir(parents=True, exist_ok=True)
    for name in ("supernet", "distill", "labels.jsonl"):
        if not (root / name).exists():
            (root / name).symlink_to((sources[0] / name).resolve())
    timings = {}
    for source in sources:
        timings |= json.loads((source / "timings.json").read_text())
        for run_dir in (source / "search").iterdir():
            link = root / "search" / run_dir.name
            if run_dir.is_dir() and not link.exists():
                link.symlink_to(run_dir.resolve())
    (root / "timings.json").write_text(json.dumps(timings, indent=1))


def plot(root: Path, seeds: list[int], path: Path) -> None:
    """Wall clock vs evolution against best-score change, one point per search and seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = {s: collect(root, "evolution", s) for s in seeds
            if (root / "search" / f"evolution_{s}" / "search.json").is_file()}
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name in SEARCHES:
        points = [(collect(root, name, s), base[s]) for s in base
                  if (root / "search" / f"{name}_{s}" / "search.json").is_file()]
        if not points:
            continue
        xs = [run["loop"] / ref["loop"] for run, ref in points]
        ys = [(run["rescored"] - ref["rescored"]) / abs(ref["rescored"]) * 100
              for run, ref in points]
        ax.scatter(xs, ys, label=name, alpha=0.75)
    ax.axvline(0.3, color="grey", linestyle=":", linewidth=1)
    ax.axhline(-1.0, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("search wall clock / supernet-only evolution's (same seed)")
    ax.set_ylabel("best architecture's score vs evolution's (%)")
    ax.set_title("HS-NAS variants at HAT's budget; targets: ≤ 0.3×, ≥ −1 %")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/bench"))
    parser.add_argument("--space", default="hat_mini", help="the search space (conf/space)")
    parser.add_argument("--task", default="synthetic_en_de", help="the task (conf/task)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--population", type=int, default=125)
    parser.add_argument("--parents", type=int, default=25)
    parser.add_argument("--children", type=int, default=50, help="mutations = crossovers")
    parser.add_argument("--race-fraction", type=float, default=0.2)
    parser.add_argument("--late-switch", type=float, default=2 / 3,
                        help="switch_fraction of the hs_nas_racing_late search")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads of the searches (1: two drivers can share 2 cores)")
    parser.add_argument("--valid-limit", type=int, default=200,
                        help="validation pairs of the search's supernet predictor")
    parser.add_argument("--random-samples", type=int, default=None,
                        help="random search's samples per iteration (default: population)")
    parser.add_argument("--supernet-steps", type=int, default=1200)
    parser.add_argument("--supernet-checkpoint", type=Path, default=None,
                        help="a trained supernet to search with instead of training one")
    parser.add_argument("--train-override", nargs="*", default=[],
                        help="Hydra overrides of the supernet and retrain stages "
                             "(e.g. model.normalize_before=true data.max_tokens=2048)")
    parser.add_argument("--labels", type=int, default=400, help="Distill-PP's labels")
    parser.add_argument("--label-limit", type=int, default=50, help="valid pairs per label")
    parser.add_argument("--retrain-steps", type=int, default=300, help="0: no retraining")
    parser.add_argument("--skip", nargs="*", default=[], help="searches to leave out")
    parser.add_argument("--step", choices=["labels", "rescore", "searches"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--own-process", action="store_true",
                        help="each search as its own `llmpp search` process (slow start-up)")
    parser.add_argument("--merge", type=Path, nargs="*", default=[],
                        help="roots of seed drivers to link into --root and report together")
    parser.add_argument("--plot", type=Path, help="write the trade-off plot (PNG) here")
    parser.add_argument("--wall-seeds", type=int, nargs="*", default=None,
                        help="seeds whose wall clock is reported (default: all of --seeds)")
    parser.add_argument("--report-only", action="store_true",
                        help="rescore and report the searches finished so far")
    args = parser.parse_args()
    root = args.root
    for name in args.skip:
        SEARCHES.pop(name)
    if args.step == "labels":
        return label_step(root, args)
    if args.step == "rescore":
        return rescore_step(root, args.space, args.task)
    if args.step == "searches":
        return searches_step(root, args, gflops_limit(args.space, args.task))
    if args.merge:
        merge(root, args.merge)
    if args.report_only:
        python_step("rescore", root, args, root / "rescore.log")
        if args.plot:
            plot(root, args.wall_seeds or args.seeds, args.plot)
        return report(root, args.seeds, args.wall_seeds)
    (root / "search").mkdir(parents=True, exist_ok=True)
    timings_path = root / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.is_file() else {}

    def once(key: str, done: Path, action) -> None:
        if not done.exists():
            timings[key] = action()
            timings_path.write_text(json.dumps(timings, indent=1))

    once("supernet", root / "supernet/checkpoints/last.ckpt",
         lambda: link_supernet(root, args.supernet_checkpoint) if args.supernet_checkpoint
         else run(supernet_cmd(root, args), root / "supernet.log"))
    once("labels", root / "labels.jsonl", lambda: python_step("labels", root, args,
                                                              root / "labels.log"))
    once("distill", root / "distill/distill.ckpt", lambda: run(distill_cmd(root, args),
                                                                root / "distill.log"))
    limit = gflops_limit(args.space, args.task)
    if not args.own_process:
        run([sys.executable, __file__, *sys.argv[1:], "--step", "searches"],
            root / "searches.log")
        timings.update(json.loads(timings_path.read_text()))
    for seed in args.seeds:
        for name in SEARCHES:
            key = f"{name}_{seed}"
            once(key, root / "search" / key / "search.json",
                 lambda n=name, s=seed, k=key: run(search_cmd(root, n, s, limit, args),
                                                   root / "search" / f"{k}.log"))
    python_step("rescore", root, args, root / "rescore.log")
    if args.retrain_steps > 0:
        once("retrain", root / "retrain" / "retrain.json", lambda: retrain_step(root, args))
    print(f"GFLOPs limit {limit}; timings {json.dumps(timings)}")
    if args.plot:
        plot(root, args.wall_seeds or args.seeds, args.plot)
    report(root, args.seeds, args.wall_seeds)


if __name__ == "__main__":
    main()
