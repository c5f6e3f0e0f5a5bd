"""A Hydra callback that ends every multirun with the comparison report in its sweep dir.

Enable it with ``hydra/callbacks=report`` (``conf/hydra/callbacks/report.yaml``), or by
``- override hydra/callbacks: report`` in a primary config's defaults (Hydra's own defaults
hold ``hydra/callbacks: null``, hence ``override``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from llmpp.errors import UserError

log = logging.getLogger(__name__)


class ReportCallback(Callback):
    """Writes ``report.md``, ``report.csv`` and plots into the sweep dir when a multirun ends.

    Args:
        plots: also write the comparison PNGs.
        echo: print the Markdown table on stdout (as ``llmpp report`` does).
    """

    def __init__(self, *, plots: bool = True, echo: bool = True) -> None:
        self.plots = plots
        self.echo = echo

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Report on every finished job of the sweep; a sweep with no llmpp outputs is skipped."""
        from llmpp.report.writer import summary_line, write_report

        sweep_dir = Path(str(config.hydra.sweep.dir))
        try:
            report = write_report([sweep_dir], sweep_dir, plots=self.plots)
        except UserError as exc:
            # Stages without a JSON to compare (supernet, label) sweep fine; say why there is
            # no report instead of failing a sweep whose jobs all succeeded.
            log.warning("no report for the sweep in %s: %s", sweep_dir, exc)
            return
        if self.echo:
            print(report.markdown)
        print(summary_line(report))
