"""The training objective and schedule: label-smoothed cross entropy, Adam, warmup + cosine."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from llmpp.data.corpus import PAD
from llmpp.errors import ConfigError


def label_smoothed_loss(
    logits: Tensor, target: Tensor, smoothing: float
) -> tuple[Tensor, Tensor, int]:
    """(summed smoothed loss, summed NLL, number of target tokens), padding ignored.

    The smoothed loss puts ``1 - smoothing`` on the reference token and spreads
    ``smoothing`` uniformly over the vocabulary (fairseq's formulation).
    """
    logp = F.log_softmax(logits.float(), dim=-1)
    keep = target.ne(PAD)
    nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    uniform = -logp.mean(-1)
    loss = (1.0 - smoothing) * nll + smoothing * uniform
    return loss[keep].sum(), nll[keep].sum(), int(keep.sum())


SCHEDULES = ("cosine", "hat_supernet", "hat_subnet")

# HAT's configs: 40k updates, warmup 10k for the SuperTransformer and 4k for a
# SubTransformer trained from scratch (configs/<task>/{super,sub}transformer/).
HAT_WARMUP_FRACTION = {"hat_supernet": 10000 / 40000, "hat_subnet": 4000 / 40000}


@dataclass(frozen=True)
class Schedule:
    """Linear warmup from ``init_lr`` to ``max_lr``, then cosine decay to ``min_lr``.

    HAT trains its SuperTransformers with Adam (0.9, 0.98), this schedule with
    10k warmup steps, max lr 1e-3 and 40k updates; the defaults in ``conf/`` follow.

    ``kind`` picks the variant:

    * ``cosine`` (llmpp's default) — ``warmup_steps`` as given; after ``total_steps``
      the rate stays at ``min_lr``.
    * ``hat_supernet`` / ``hat_subnet`` — HAT's schedules for the supernet and for a
      sub-network trained from scratch: warmup is HAT's fraction of ``total_steps``
      (10k/40k and 4k/40k, so HAT's numbers exactly at 40k steps, and the same shape
      at any budget; ``warmup_steps`` is then ignored), and past ``total_steps`` the
      cosine restarts as fairseq's (period ``total - warmup``, no shrink) does.
    """

    max_lr: float = 1e-3
    init_lr: float = 1e-7
    min_lr: float = 1e-7
    warmup_steps: int = 10000
    total_steps: int = 40000
    kind: str = "cosine"

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ConfigError(
                f"schedule={self.kind!r} is unknown; choose one of: {', '.join(SCHEDULES)}"
            )

    @property
    def warmup(self) -> int:
        """Warmup steps actually used (HAT's kinds derive them from ``total_steps``)."""
        if self.kind in HAT_WARMUP_FRACTION:
            return round(self.total_steps * HAT_WARMUP_FRACTION[self.kind])
        return self.warmup_steps

    def lr(self, step: int) -> float:
        warmup = self.warmup
        if step < warmup:
            return self.init_lr + (self.max_lr - self.init_lr) * step / max(1, warmup)
        span = max(1, self.total_steps - warmup)
        if self.kind == "cosine":
            progress = min(1.0, (step - warmup) / span)
        else:  # fairseq's cosine: t_curr within the current period
            progress = ((step - warmup) % span) / span
        return self.min_lr + 0.5 * (self.max_lr - self.min_lr) * (1 + math.cos(math.pi * progress))

    def scheduler(self, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LambdaLR:
        """A per-step LambdaLR (the optimizer's base lr must be ``max_lr``)."""
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: self.lr(step) / self.max_lr
        )
