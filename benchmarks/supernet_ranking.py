"""Kendall tau between inherited-weight and from-scratch scores of a retrained gold set.

Usage:
    llmpp retrain n_archs=10 supernet_checkpoint=<supernet ckpt> \\
        hydra.run.dir=<dir> [trainer.max_steps=...]
    python benchmarks/supernet_ranking.py <dir>/gold

`llmpp retrain` records, per architecture, the supernet's inherited-weight validation
loss (column "Supernet") next to the from-scratch validation loss and BLEU; this
prints how well the first ranks the second.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scipy import stats


def load(gold_dir: Path) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for path in sorted(gold_dir.rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            rows[json.dumps(record["scratch"]["arch_info"])] = record
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gold_dir", type=Path)
    args = parser.parse_args()
    rows = list(load(args.gold_dir).values())
    inherited = [r["Supernet"]["valid_loss"] for r in rows]
    for metric in ("valid_loss", "valid_BLEU"):
        scratch = [r["scratch"][metric] for r in rows]
        # Lower loss is better; for BLEU compare against the negated inherited loss.
        sign = 1 if metric.endswith("loss") else -1
        tau = stats.kendalltau([sign * x for x in inherited], scratch).statistic
        print(f"{len(rows)} architectures: Kendall tau(inherited valid loss, scratch {metric})"
              f" = {tau:.3f}")


if __name__ == "__main__":
    main()
