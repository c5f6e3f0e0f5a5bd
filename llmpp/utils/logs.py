"""Console output of third-party libraries kept to what a user needs.

W&B prints a banner of about twenty lines per run (version, run history sparklines,
summary, sync hints, an advertisement for Weave whenever ``openai`` is imported, and
a deprecation warning that Lightning's ``WandbLogger`` triggers by passing
``anonymous=None``). A pipeline of seven stages makes that well over a hundred lines.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

L = TypeVar("L")


def quiet_wandb(logger: L | None = None) -> L | None:
    """Keep W&B to three lines per run: offline or not, where the run is saved, how to view it.

    Call it before the W&B run starts (before the logger's first use). The user's own
    environment wins: ``WANDB_QUIET=false`` or ``WANDB_DISABLE_WEAVE=false`` bring the
    lines back. ``WANDB_SILENT`` would also hide where an offline run was saved, which
    a user needs to find and ``wandb sync`` it, so it is not used.

    Args:
        logger: a Lightning ``WandbLogger`` not yet started, or None. Its ``anonymous``
            init argument (always sent by Lightning, deprecated by W&B, no effect) is
            dropped so W&B does not warn about it on every run.

    Returns:
        ``logger``, for chaining.
    """
    os.environ.setdefault("WANDB_QUIET", "true")  # no version line, history, summary, footer
    os.environ.setdefault("WANDB_DISABLE_WEAVE", "true")  # no "Use W&B Weave" advert
    init: Any = getattr(logger, "_wandb_init", None)  # Lightning's private wandb.init kwargs
    if isinstance(init, dict) and init.get("anonymous") is None:
        init.pop("anonymous", None)
    return logger


class _DropLines:
    """A logging filter that drops records whose message contains one of ``needles``."""

    def __init__(self, *needles: str) -> None:
        self.needles = needles

    def filter(self, record: Any) -> bool:
        message = record.getMessage()
        return not any(needle in message for needle in self.needles)


def quiet_third_party() -> None:
    """Drop library lines that say nothing about the user's run.

    Lightning advertises a logging product on every Trainer and a torch deprecation
    inside Lightning warns on every fit; neither is actionable for an llmpp user.
    """
    import logging
    import warnings

    # The device lines repeat for every Trainer of a pipeline (a dozen in `llmpp run`);
    # latency.json and the W&B runs record the device once.
    tip = _DropLines("Tip: For seamless cloud logging", "GPU available:", "TPU available:")
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch"):
        logging.getLogger(name).addFilter(tip)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    warnings.filterwarnings("ignore", message=r".*smaller than the logging interval.*")
