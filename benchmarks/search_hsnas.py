"""HS-NAS vs supernet-only evolution (and the adaptive schedule, Optuna NSGA-II).

Runs every search in one process, same seed, same predictors, and prints a
Markdown table: wall-clock, evaluations and seconds by predictor, and the supernet
score of each search's best architecture (re-scored by the supernet, so the
searches are compared on one scale).

Real predictors:
    .venv/bin/python benchmarks/search_hsnas.py \
        --supernet <supernet run>/checkpoints/last.ckpt --distill <distill run>/distill.ckpt
Stand-ins (no checkpoints): toy predictors with ``--supernet-delay`` /
``--distill-delay`` seconds per architecture imitating the real relative cost.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from omegaconf import OmegaConf

from llmpp.utils.paths import conf_dir

SEARCHES = {
    "evolution (supernet only)": ["search=evolution"],
    "hs_nas (fixed, switch 15)": ["search=hs_nas"],
    "hs_nas (adaptive)": ["search=hs_nas_adaptive"],
    "optuna nsga2 (supernet, gflops)": ["search=optuna_nsga2"],
}


def compose(overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir()), job_name="search"):
        return hydra_compose(config_name="search", overrides=overrides)


def predictors_cfg(args) -> dict:
    if args.supernet and args.distill:
        return {
            "supernet": {"_target_": "llmpp.predictors.supernet.SupernetPredictor",
                         "checkpoint": args.supernet, "metric": "loss", "valid_limit": 200},
            "llm_distill": {"_target_": "llmpp.predictors.llm_distill.LLMDistillPredictor",
                            "checkpoint": args.distill},
        }
    toy = "llmpp.search.toy.ToyPredictor"
    return {
        "supernet": {"_target_": toy, "seed": 1, "noise": 0.3, "label": "supernet",
                     "delay_per_arch": args.supernet_delay},
        "llm_distill": {"_target_": toy, "seed": 2, "noise": 0.3, "label": "llm_distill",
                        "delay_per_arch": args.distill_delay},
    }


def run_one(name: str, overrides: list[str], args, root: Path) -> dict:
    from llmpp.stages.search import run_search

    cfg = compose(["logger=none", f"seed={args.seed}", *overrides, *args.overrides])
    cfg.predictors = OmegaConf.create(predictors_cfg(args))
    cfg.tracking.progress = False
    return run_search(cfg, root / f"{len(list(root.iterdir()))}_{name.split()[0]}")


def rescore(payloads: dict[str, dict], args) -> dict[str, float]:
    """Every best architecture scored by the same supernet predictor."""
    from llmpp.predictors.base import TaskContext
    from llmpp.space.architecture import Architecture
    from llmpp.stages.common import build
    from llmpp.task import TaskSpec

    cfg = compose(["logger=none"])
    space = build(cfg.space, "space")
    predictor = build(OmegaConf.create(predictors_cfg(args)["supernet"]), "supernet")
    predictor.setup(TaskContext(task=TaskSpec.from_config(cfg.task), space=space))
    archs = [Architecture.from_hat(p["best"]["arch"]) for p in payloads.values()]
    return dict(zip(payloads, predictor.predict(archs).tolist(), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supernet", help="supernet checkpoint (real predictors)")
    parser.add_argument("--distill", help="Distill-PP checkpoint (real predictors)")
    parser.add_argument("--supernet-delay", type=float, default=0.01)
    parser.add_argument("--distill-delay", type=float, default=1e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", action="append", default=[],
                        help="leave out searches whose name contains this (e.g. --skip nsga2)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. search.iterations=10")
    args = parser.parse_args()
    payloads = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, overrides in SEARCHES.items():
            if not any(part in name for part in args.skip):
                payloads[name] = run_one(name, overrides, args, Path(tmp))
    scores = rescore(payloads, args)
    base = payloads["evolution (supernet only)"]["wall_seconds"]["total"]
    base_score = scores["evolution (supernet only)"]
    print("| search | wall s | vs evolution | supernet score of best | Δ vs evolution "
          "| evals (distill / supernet) | s (distill / supernet) |")
    print("|---|---|---|---|---|---|---|")
    for name, p in payloads.items():
        wall = p["wall_seconds"]["total"]
        ev, sec = p["evaluations"]["by_predictor"], p["wall_seconds"]["by_predictor"]
        rel = (scores[name] - base_score) / abs(base_score) * 100
        print(f"| {name} | {wall:.1f} | {wall / base:.2f} | {scores[name]:.4f} | {rel:+.2f} % "
              f"| {ev.get('llm_distill', 0)} / {ev.get('supernet', 0)} "
              f"| {sec.get('llm_distill', 0):.2f} / {sec.get('supernet', 0):.2f} |")


if __name__ == "__main__":
    main()
