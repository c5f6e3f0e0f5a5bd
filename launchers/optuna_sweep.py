"""Tune LLM-Distill-PP's hyperparameters with Optuna, calling the stage's plain function.

Optuna drives the sweep directly (the hydra-optuna-sweeper plugin pins optuna<3):
each trial composes ``conf/distill.yaml`` with the user's overrides plus the trial's
choices, runs ``llmpp.stages.distill.run_distill(cfg, trial_dir)`` and minimises the
held-out MAE it reports. The study lives in an SQLite file, so a killed sweep resumes
where it stopped: rerunning the same command only runs the trials still missing.

    python launchers/optuna_sweep.py --trials 20 --out outputs/optuna_distill -- \\
        task=wmt14_en_de labels=<llmpp label run dir>/labels.jsonl

    # no LLM labels yet? a free teacher scores a sampled pool instead:
    python launchers/optuna_sweep.py --trials 20 --out outputs/optuna_distill -- \\
        task=wmt14_en_de predictor@teacher.predictor=linear teacher.pool=sample \\
        teacher.n_archs=500 benchmark.root=../shared/llmas/data

Prints the best trial and writes ``<out>/best.json`` (its overrides and metrics).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import optuna
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from llmpp.config import compose
from llmpp.errors import ConfigError, UserError
from llmpp.utils.io import write_json

log = logging.getLogger("optuna_sweep")

# The searched hyperparameters: the regressor's shape and its optimiser.
HIDDEN_DIMS = [100, 200, 400]
BATCH_SIZES = [64, 128, 256]


def trial_overrides(trial: optuna.Trial) -> list[str]:
    """The trial's choices as ``distill.*`` Hydra overrides."""
    return [
        f"regressor.hidden_dim={trial.suggest_categorical('hidden_dim', HIDDEN_DIMS)}",
        f"regressor.hidden_layers={trial.suggest_int('hidden_layers', 1, 4)}",
        f"regressor.lr={trial.suggest_float('lr', 1e-4, 1e-2, log=True)}",
        f"regressor.batch_size={trial.suggest_categorical('batch_size', BATCH_SIZES)}",
    ]


def distill_config(overrides: list[str]):
    """The distill stage's config; a bad override is a one-line ``ConfigError``."""
    try:
        return compose("distill", overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(f"distill overrides: {' '.join(str(exc).split())}") from None


def make_objective(base: list[str], out: Path):
    """The objective: one ``run_distill`` per trial in ``<out>/trial_<n>``."""
    from llmpp.stages.distill import run_distill

    def objective(trial: optuna.Trial) -> float:
        overrides = [*base, *trial_overrides(trial)]
        cfg = distill_config(overrides)
        report = run_distill(cfg, out / f"trial_{trial.number:04d}")
        trial.set_user_attr("overrides", overrides)
        trial.set_user_attr("heldout_kendall", float(report["heldout"]["kendall"]))
        return float(report["heldout"]["mae"])

    return objective


def sweep(base: list[str], out: Path, trials: int, seed: int, study_name: str) -> dict[str, Any]:
    """Run the trials still missing from the study; returns the best trial's summary."""
    # The user's overrides are checked before the study: an error raised inside a trial
    # is logged by optuna with its traceback before it reaches the one-line report.
    distill_config(base)
    out.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        study_name=study_name,
        storage=f"sqlite:///{(out / 'study.db').resolve()}",
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        load_if_exists=True,
    )
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    missing = max(0, trials - len(done))
    log.info("study %s: %d trials done, running %d more", study_name, len(done), missing)
    if missing:
        # User errors (bad override, missing labels) stop the sweep; nothing is caught.
        study.optimize(make_objective(base, out), n_trials=missing)
    best = study.best_trial
    summary = {
        "study": study_name,
        "trials_complete": sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials),
        "best": {
            "number": best.number,
            "heldout_mae": best.value,
            "heldout_kendall": best.user_attrs.get("heldout_kendall"),
            "params": best.params,
            "overrides": best.user_attrs.get("overrides"),
            "checkpoint": str(out / f"trial_{best.number:04d}" / "distill.ckpt"),
        },
    }
    write_json(out / "best.json", summary)
    return summary


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="trials in the whole study")
    parser.add_argument("--out", type=Path, default=Path("outputs/optuna_distill"))
    parser.add_argument("--study", default="distill_pp", help="study name in <out>/study.db")
    parser.add_argument("--seed", type=int, default=0, help="the sampler's seed")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/distill.yaml")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        summary = sweep(args.overrides, args.out, args.trials, args.seed, args.study)
    except UserError as exc:
        print(f"optuna_sweep: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary["best"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
