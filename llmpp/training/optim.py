"""The optimiser settings a training stage hands its module (the ``optim`` config group)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class OptimSettings:
    """Adam and its learning-rate schedule: warmup from ``init_lr`` to ``max_lr``, then decay.

    Kept apart from the model group so the same supernet kind trains with HAT's
    schedule on a GPU and with a short one on a CPU; the values reach the
    LightningModule as keyword arguments (and so its checkpoint's hyper-parameters).

    Args:
        schedule: the schedule's kind when the module offers several (None: its default).
    """

    max_lr: float = 1e-3
    init_lr: float = 1e-7
    min_lr: float = 1e-7
    warmup_steps: int = 10000
    total_steps: int = 40000
    betas: tuple[float, float] = (0.9, 0.98)
    weight_decay: float = 0.0
    schedule: str | None = None

    def as_kwargs(self) -> dict[str, Any]:
        """The module's keyword arguments (unset options left to the module's defaults)."""
        values = asdict(self)
        values["betas"] = tuple(float(b) for b in self.betas)
        return {key: value for key, value in values.items() if value is not None}
