"""HS-NAS: HAT's evolution whose ranking predictor follows a schedule.

The paper ranks iterations 0-14 with LLM-Distill-PP (microseconds per
architecture) and 15-29 with the supernet (a validation pass per architecture),
reaching supernet-only quality in about half the search time.
"""

from __future__ import annotations

from typing import Any

from llmpp.search.base import Scored
from llmpp.search.evolution import Evolution
from llmpp.search.schedule import FixedSchedule


class HSNAS(Evolution):
    """``Evolution`` with a predictor schedule.

    Args:
        schedule: a ``FixedSchedule`` or ``AdaptiveSchedule`` (default: the paper's).
        **kwargs: ``Evolution``'s keyword arguments (``predictor`` is ignored).
    """

    name = "hs_nas"

    def __init__(self, *, schedule: FixedSchedule | None = None, **kwargs: Any) -> None:
        self.schedule = schedule or FixedSchedule()
        kwargs["predictor"] = self.schedule.then
        super().__init__(**kwargs)
        self.schedule.bind(self.iterations)

    def predictor(self) -> str:
        return self.schedule.predictor(self.iteration)

    def predictors(self) -> list[str]:
        return [self.schedule.first, self.schedule.then]

    def describe(self) -> dict[str, Any]:
        return {"schedule": self.schedule.describe()}

    def _observe(self, survivors: list[Scored]) -> None:
        self.schedule.observe(self.iteration, [s.arch.key() for s in survivors])

    def _extra_state(self) -> dict[str, Any]:
        return {**super()._extra_state(), "schedule": self.schedule.state_dict()}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        super()._load_extra_state(state)
        self.schedule.load_state_dict(state["schedule"])
