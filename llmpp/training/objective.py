"""The training objective and schedule: label-smoothed cross entropy, Adam, warmup + cosine."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from llmpp.data.corpus import PAD


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


@dataclass(frozen=True)
class Schedule:
    """Linear warmup from ``init_lr`` to ``max_lr``, then cosine decay to ``min_lr``.

    HAT trains its SuperTransformers with Adam (0.9, 0.98), this schedule with
    10k warmup steps, max lr 1e-3 and 40k updates; the defaults in ``conf/`` follow.
    """

    max_lr: float = 1e-3
    init_lr: float = 1e-7
    min_lr: float = 1e-7
    warmup_steps: int = 10000
    total_steps: int = 40000

    def lr(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.init_lr + (self.max_lr - self.init_lr) * step / max(1, self.warmup_steps)
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        return self.min_lr + 0.5 * (self.max_lr - self.min_lr) * (1 + math.cos(math.pi * progress))

    def scheduler(self, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LambdaLR:
        """A per-step LambdaLR (the optimizer's base lr must be ``max_lr``)."""
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: self.lr(step) / self.max_lr
        )
