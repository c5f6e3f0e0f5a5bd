"""Can a set of scores rank anything? A check shared by labelling, distillation and search.

A predictor whose scores are (nearly) all the same turns a search into a random walk
and a distilled regressor into a constant: the run still finishes, so the user must be
told. Two shapes of "cannot rank" occur in practice: every value equal up to float
noise (a Distill-PP trained on constant labels), and one value repeated for almost
every item (a small LLM copying one demonstration's BLEU).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np


def constant_scores(
    scores: Sequence[float] | np.ndarray, *, rtol: float = 1e-6, share: float = 0.9
) -> bool:
    """Whether ``scores`` cannot rank their items.

    Args:
        scores: one score per item; NaN (failed predictions) are ignored.
        rtol: values whose spread is within ``rtol`` of their magnitude count as equal.
        share: also constant when one value is repeated by at least this share of the items.

    Returns:
        ``True`` when at least two finite scores exist and they are (nearly) constant.
    """
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return False  # nothing to rank, which is not the predictor's fault
    spread = float(values.max() - values.min())
    if spread <= rtol * max(1.0, float(np.abs(values).max())):
        return True
    _, repeats = Counter(values.round(9).tolist()).most_common(1)[0]
    return repeats >= share * values.size


def constant_warning(what: str, count: int) -> str:
    """The one warning line every stage prints for constant scores."""
    return (
        f"{what}: (nearly) the same score for all {count} architectures, so they cannot be "
        "ranked; check the teacher's labels (a small LLM may repeat one demonstration)"
    )
