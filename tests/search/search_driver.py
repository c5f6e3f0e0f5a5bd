"""Runs a small search in its own process (the kill-and-resume and CLI tests use it)."""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import OmegaConf

from llmpp.config import compose as compose_config
from llmpp.stages.search import run_search

SMALL = {"iterations": 6, "population_size": 20, "parents": 5, "mutations": 8, "crossovers": 8}


def toy_config(overrides: list[str], delay: float = 0.0):
    """The search config with cheap deterministic stand-ins for both predictors."""
    cfg = compose_config("search", overrides)
    for key, value in SMALL.items():  # small budgets unless the overrides set them
        if key in cfg.search and not any(o.startswith(f"search.{key}=") for o in overrides):
            cfg.search[key] = value
    cfg.search.predictors = OmegaConf.create({
        name: {"_target_": "llmpp.testing.toy.ToyPredictor", "seed": seed, "noise": 0.3,
               "label": name, "delay_per_arch": delay}
        for name, seed in (("supernet", 1), ("llm_distill", 2))
    })
    cfg.search.tracking.progress = False
    return cfg


if __name__ == "__main__":
    out, delay, *overrides = sys.argv[1:]
    run_search(toy_config(overrides, float(delay)), Path(out))
