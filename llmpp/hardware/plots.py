"""The latency stage's plot: predicted against measured latency of the held-out architectures."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llmpp.utils.io import atomic_open


def fit_plot(path: Path, measured_ms: np.ndarray, predicted_ms: np.ndarray, title: str) -> Path:
    """A scatter of held-out predictions against measurements, with the ``y = x`` line.

    Args:
        path: the PNG to write (atomically).
        measured_ms: measured latency of each held-out architecture.
        predicted_ms: the fitted model's latency for the same architectures.
        title: what was fitted (model, hardware), shown above the plot.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and CI
    import matplotlib.pyplot as plt

    measured = np.asarray(measured_ms, dtype=float)
    predicted = np.asarray(predicted_ms, dtype=float)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.scatter(measured, predicted, s=18, alpha=0.8)
    both = np.concatenate([measured, predicted])
    both = both[np.isfinite(both)]
    if both.size and np.ptp(both) > 0:
        lo, hi = float(both.min()), float(both.max())
        pad = 0.05 * (hi - lo)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=0.8, label="y = x")
        ax.legend(fontsize=7)
    ax.set_xlabel("measured latency (ms)")
    ax.set_ylabel("predicted latency (ms)")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=100)
    plt.close(fig)
    return path
