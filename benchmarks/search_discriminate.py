"""Can the search benchmark tell searches apart? HS-NAS, hsnas_fast, evolution, random on hat_small.

One command, resumable: ``benchmarks/search_hsnas.py`` on ``--space hat_small`` at HAT's
budget (30 iterations x population 125: 25 parents, 50 mutations, 50 crossovers; random
search 125 samples an iteration), seeds 0-3, every search its own ``llmpp search``
process with cold predictors, Distill-PP distilled from the supernet's own scores, under
a GFLOPs limit at the space's median. Then two checks on the best architectures rescored
by the same supernet on all validation pairs:

1. **discrimination**: random search must land measurably below evolution: at least
   ``--margin`` (2 %) worse best score on average over the seeds. If it does not, the
   setting cannot tell a search from a random one and the HS-NAS comparison says
   nothing.
2. **HS-NAS (fast)**: ``experiment=hsnas_fast`` at <= 0.3x evolution's search wall clock
   with <= 1 % loss of best score (per-seed pairs, averaged).

    .venv/bin/python benchmarks/search_discriminate.py --root /tmp/llmpp-discriminate
    .venv/bin/python benchmarks/search_discriminate.py --reduced --root /tmp/d   # checks
Seed groups can run side by side, one per core (``taskset -c N``, ``--seeds`` and
``--root`` per group, ``--retrain-steps 0``), then ``--merge <their roots>`` judges them
together (and retrains the distinct bests) under a new ``--root``.
Every artifact of ``search_hsnas.py`` stays under ``--root`` (``discriminate.json`` is
this script's verdict); rerunning the same command resumes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SEARCHES = ("evolution", "hs_nas_fixed", "hsnas_fast", "random")
# search_hsnas.py's other variants, not run here.
SKIP = ("evolution_whole", "hs_nas_racing", "hs_nas_racing_late", "hs_nas_adaptive")
# The ranking benchmark's recipe (benchmarks/supernet_ranking_small.py): pre-norm layers,
# 2048-token batches; the retrained bests get its gold budget (600 steps).
TRAIN = ["model.normalize_before=true", "data.max_tokens=2048"]
FULL = {"seeds": [0, 1, 2, 3], "iterations": 30, "population": 125, "parents": 25,
        "children": 50, "valid_limit": 40, "supernet_steps": 2000, "labels": 120,
        "label_limit": 20, "retrain_steps": 600}
REDUCED = {"seeds": [0, 1], "iterations": 4, "population": 20, "parents": 4, "children": 8,
           "valid_limit": 20, "supernet_steps": 60, "labels": 40, "label_limit": 10,
           "retrain_steps": 0}


def hsnas_argv(root: Path, b: dict[str, Any], space: str, task: str,
               supernet: Path | None = None, overrides: list[str] | None = None) -> list[str]:
    """The ``search_hsnas.py`` command line of this benchmark."""
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in b.items() if k != "seeds"]
    extra = ["--supernet-checkpoint", str(supernet)] if supernet else []
    return [sys.executable, str(HERE / "search_hsnas.py"), "--root", str(root),
            "--space", space, "--task", task, "--own-process",
            "--seeds", *map(str, b["seeds"]), *flags, *extra, "--skip", *SKIP,
            "--train-override", *(TRAIN if overrides is None else overrides)]


def relative(run: dict[str, Any], base: dict[str, Any]) -> float:
    """The best score's change vs evolution's, in % of evolution's (higher is better)."""
    return (run["rescored"] - base["rescored"]) / abs(base["rescored"]) * 100


def verdict(rows: dict[str, dict[int, dict[str, Any]]], margin: float) -> dict[str, Any]:
    """The two checks from ``search_hsnas.collect`` rows by search and seed."""
    base = rows["evolution"]
    out: dict[str, Any] = {"searches": {}}
    for name, per_seed in rows.items():
        seeds = [s for s in per_seed if s in base]
        if not seeds:
            continue
        deltas = [relative(per_seed[s], base[s]) for s in seeds]
        walls = [per_seed[s]["loop"] / base[s]["loop"] for s in seeds]
        out["searches"][name] = {"seeds": seeds, "delta_pct": float(np.mean(deltas)),
                                 "worst_delta_pct": float(min(deltas)),
                                 "wall_vs_evolution": float(np.mean(walls)),
                                 "best_rescored": float(np.mean([per_seed[s]["rescored"]
                                                                 for s in seeds]))}
    random, fast = out["searches"].get("random"), out["searches"].get("hsnas_fast")
    out["discriminates"] = None if random is None else random["delta_pct"] <= -margin
    out["hsnas_fast_target"] = None if fast is None else (
        fast["wall_vs_evolution"] <= 0.3 and fast["delta_pct"] >= -1.0)
    out["margin_pct"] = margin
    return out


def collect_rows(root: Path, seeds: list[int]) -> dict[str, dict[int, dict[str, Any]]]:
    sys.path.insert(0, str(HERE))
    import search_hsnas

    return {name: {s: search_hsnas.collect(root, name, s) for s in seeds
                   if (root / "search" / f"{name}_{s}" / "search.json").is_file()}
            for name in SEARCHES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/llmpp-discriminate"))
    parser.add_argument("--reduced", action="store_true",
                        help="a budget that checks the whole benchmark in minutes")
    parser.add_argument("--margin", type=float, default=2.0,
                        help="how much worse (%%) random search must be on average")
    parser.add_argument("--plot", type=Path, help="the wall clock vs score plot (PNG)")
    parser.add_argument("--space", default="hat_small")
    parser.add_argument("--supernet-checkpoint", type=Path, default=None,
                        help="search with this trained supernet (the ranking benchmark's "
                             "hat one: <its root>/supernet/<hash>/checkpoints/step2000.ckpt)")
    parser.add_argument("--merge", type=Path, nargs="*", default=[],
                        help="roots of seed groups run side by side (one per core) to link "
                             "into --root and judge together")
    parser.add_argument("--train-override", nargs="*", default=None,
                        help=f"Hydra overrides of the supernet and retrain stages (default: "
                             f"{' '.join(TRAIN)}; none: the model's own recipe)")
    parser.add_argument("--task", default="synthetic_en_de")
    for key, value in FULL.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=int, default=None,
                            nargs="+" if isinstance(value, list) else None,
                            help=f"full: {value}, reduced: {REDUCED[key]}")
    args = parser.parse_args()
    base = REDUCED if args.reduced else FULL
    b = {k: base[k] if getattr(args, k) is None else getattr(args, k) for k in base}
    args.root.mkdir(parents=True, exist_ok=True)
    argv = hsnas_argv(args.root, b, args.space, args.task, args.supernet_checkpoint,
                      args.train_override)
    argv += ["--plot", str(args.plot)] if args.plot else []
    argv += ["--merge", *map(str, args.merge)] if args.merge else []
    with (args.root / "search_hsnas.out").open("w") as out:
        subprocess.run(argv, check=True, stdout=out)
    result = {"budget": b, **verdict(collect_rows(args.root, b["seeds"]), args.margin)}
    (args.root / "discriminate.json").write_text(json.dumps(result, indent=1))
    print((args.root / "search_hsnas.out").read_text())
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
