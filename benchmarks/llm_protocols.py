"""Tokens per prediction of LLM-PP's protocols, with their MAE and Kendall tau.

``single`` is the paper's protocol (one test architecture per query); ``multi``
puts several test architectures after one copy of the shared prefix. Both run on
the same task, seeds, backend and prompt in one process; tokens include replies
served from the cache (counted at what they cost when first paid for).

    .venv/bin/python benchmarks/llm_protocols.py llm=local task=wmt14_en_de \\
        benchmark.root=../shared/llmas/data benchmark.seeds=[123] [predictor.archs_per_query=5]
"""

from __future__ import annotations

import sys

from omegaconf import OmegaConf

from llmpp.config import build, compose
from llmpp.evaluation.protocol import ProtocolConfig, evaluate_task
from llmpp.gold.source import GoldSource
from llmpp.task import TaskSpec, expand_tasks


def measure(cfg, protocol: str) -> dict[str, float]:
    """MAE, tau and tokens per prediction of one protocol over every task and seed."""
    predictor_cfg = OmegaConf.merge(cfg.predictor, {"protocol": protocol})
    source = GoldSource(cfg.benchmark.root)
    space = build(cfg.space, "space")
    protocol_cfg = ProtocolConfig(seeds=[int(s) for s in cfg.benchmark.seeds])
    maes, taus, tokens, predictions, calls = [], [], 0, 0, 0
    for task_cfg in expand_tasks(cfg.task):
        task = TaskSpec.from_config(task_cfg)
        result, cost, _ = evaluate_task(
            lambda: build(predictor_cfg, "predictor"),
            task,
            protocol_cfg,
            source=source,
            space=space,
        )
        maes.append(result["mae"]["mean"])
        taus.append(result["kendall"]["mean"])
        tokens += sum(
            cost.get(k, 0)
            for k in (
                "prompt_tokens",
                "completion_tokens",
                "cached_prompt_tokens",
                "cached_completion_tokens",
            )
        )
        calls += cost.get("llm_calls", 0) + cost.get("cache_hits", 0)
        predictions += 20 * len(protocol_cfg.seeds)
    return {
        "mae": sum(maes) / len(maes),
        "tau": sum(taus) / len(taus),
        "tokens_per_prediction": tokens / predictions,
        "requests": calls,
    }


def main(overrides: list[str]) -> None:
    cfg = compose("benchmark", ["predictor=llm_pp", *overrides])
    rows = {protocol: measure(cfg, protocol) for protocol in ("single", "multi")}
    print(
        f"backend {cfg.llm._target_.rsplit('.', 1)[-1]} model {cfg.llm.model}, prompt "
        f"{cfg.prompt.get('name') or cfg.prompt.get('variant')}, archs_per_query "
        f"{cfg.predictor.archs_per_query}"
    )
    print("| protocol | requests | tokens / prediction | MAE | Kendall τ |")
    print("|---|---|---|---|---|")
    for protocol, row in rows.items():
        print(
            f"| {protocol} | {row['requests']} | {row['tokens_per_prediction']:.0f} | "
            f"{row['mae']:.2f} | {row['tau']:.2f} |"
        )
    ratio = rows["single"]["tokens_per_prediction"] / max(
        rows["multi"]["tokens_per_prediction"], 1e-9
    )
    print(f"\ntokens per prediction, single / multi = {ratio:.1f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
