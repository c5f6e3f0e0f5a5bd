"""Reading a BLEU score out of an LLM's free-text reply.

Small models ramble, large ones explain; both are handled the same way: the first
number in the reply is the answer, and a number outside the score range is treated
as no answer at all (so the caller re-asks instead of averaging nonsense).
"""

from __future__ import annotations

import math
import re

_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")


def parse_score(text: str | None, low: float = 0.0, high: float = 100.0) -> float | None:
    """The first number in ``text`` if it lies in ``[low, high]``, else None."""
    if not text:
        return None
    match = _NUMBER.search(text)
    if match is None:
        return None
    try:
        value = float(match.group())
    except ValueError:
        return None
    return value if low <= value <= high else None


def parse_first_word(text: str | None) -> float | None:
    """The authors' reading: the reply's first whitespace-separated word, if it is a number.

    Stricter than ``parse_score`` (``"BLEU: 27.1"`` or ``"27.1,"`` are no answer) and
    without a range check, as in the paper's scorer; the caller re-asks on None.
    """
    words = (text or "").split()
    if not words:
        return None
    try:
        value = float(words[0])
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_scores(
    text: str | None, count: int, low: float = 0.0, high: float = 100.0
) -> list[float | None]:
    """``count`` scores from a reply answering several architectures at once.

    Lines of the form ``<i>: <number>`` (or ``Architecture <i>: ...``) are read by
    their index, so a reply that skips one still aligns; without indexed lines the
    numbers are taken in order. Missing or out-of-range entries are None.
    """
    out: list[float | None] = [None] * count
    if not text:
        return out
    indexed = False
    for line in text.splitlines():
        match = re.match(r"\s*(?:[A-Za-z ]*?)(\d+)\s*[:.)=-]\s*(.*)$", line)
        if match is None:
            continue
        index = int(match.group(1)) - 1
        if 0 <= index < count and out[index] is None:
            out[index] = parse_score(match.group(2), low, high)
            indexed = True
    if indexed:
        return out
    numbers = [float(m.group()) for m in _NUMBER.finditer(text)][:count]
    for i, value in enumerate(numbers):
        out[i] = value if low <= value <= high else None
    return out
