"""Ranking quality of the supernet on synthetic_en_de / hat_mini, in bounded CPU time.

1. ``llmpp supernet`` for about ``--supernet-minutes`` (trainer.max_time);
2. ``llmpp retrain`` of ``--archs`` sampled architectures from scratch, each for at
   most ``--retrain-seconds``, recording the supernet's inherited-weight scores;
3. Kendall tau between inherited-weight and from-scratch validation loss (and BLEU).

    .venv/bin/python benchmarks/supernet_kendall.py --out /tmp/llmpp-kendall

Each step reuses its run dir, so rerunning the same command resumes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from scipy.stats import kendalltau

LLMPP = str(Path(sys.executable).with_name("llmpp"))


def hms(seconds: int) -> str:
    return f"00:{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/llmpp-kendall")
    parser.add_argument("--supernet-minutes", type=int, default=10)
    parser.add_argument("--supernet-steps", type=int, default=300)
    parser.add_argument("--archs", type=int, default=10)
    parser.add_argument("--retrain-seconds", type=int, default=90)
    parser.add_argument("--retrain-steps", type=int, default=80)
    args = parser.parse_args()
    out = Path(args.out)
    common = [
        "task=synthetic_en_de",
        "space=hat_mini",
        "logger=csv",
        "trainer.enable_progress_bar=false",
    ]
    supernet_dir = out / "supernet"
    subprocess.run(
        [
            LLMPP,
            "supernet",
            *common,
            f"hydra.run.dir={supernet_dir}",
            f"trainer.max_steps={args.supernet_steps}",
            "optim.warmup_steps=50",
            f"trainer.max_time={hms(args.supernet_minutes * 60)}",
            "trainer.val_check_interval=100",
            "eval_bleu_limit=100",
        ],
        check=True,
    )
    ckpt = supernet_dir / "checkpoints" / "last.ckpt"
    subprocess.run(
        [
            LLMPP,
            "retrain",
            *common,
            f"hydra.run.dir={out / 'retrain'}",
            f"n_archs={args.archs}",
            "sample_seed=1",
            f"split.demos={args.archs // 3}",
            f"split.test={args.archs - args.archs // 3}",
            f"trainer.max_steps={args.retrain_steps}",
            "optim.warmup_steps=20",
            "data.max_tokens=1024",
            f"trainer.max_time={hms(args.retrain_seconds)}",
            "trainer.val_check_interval=1000",
            "eval_bleu_limit=100",
            f"supernet_checkpoint={ckpt}",
        ],
        check=True,
    )
    gold = out / "retrain" / "gold"
    records = [json.loads(line) for f in sorted(gold.glob("123/*/*.jsonl")) for line in open(f)]
    scratch_loss = [r["scratch"]["valid_loss"] for r in records]
    inherited_loss = [r["Supernet"]["valid_loss"] for r in records]
    scratch_bleu = [r["scratch"]["valid_BLEU"] for r in records]
    inherited_bleu = [r["Supernet"]["valid_BLEU"] for r in records]
    result = {
        "archs": len(records),
        "kendall_tau_valid_loss": float(kendalltau(scratch_loss, inherited_loss).statistic),
        "kendall_tau_valid_bleu": float(kendalltau(scratch_bleu, inherited_bleu).statistic),
        "scratch_valid_loss": scratch_loss,
        "inherited_valid_loss": inherited_loss,
        "scratch_valid_BLEU": scratch_bleu,
        "inherited_valid_BLEU": inherited_bleu,
        "supernet": json.loads((supernet_dir / "supernet.json").read_text()),
    }
    (out / "kendall.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if "tau" in k or k == "archs"}, indent=2))


if __name__ == "__main__":
    main()
