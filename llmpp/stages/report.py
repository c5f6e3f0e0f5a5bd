"""``llmpp report <run or sweep dirs...>``: one comparison table and plot for finished runs.

Reads the JSON outputs (benchmark, search, latency, distill, summary) under the dirs,
labels the rows with the overrides that differ between runs, prints the Markdown table
and writes ``report.md``, ``report.csv`` and ``report_<kind>.png`` into the run dir
(or ``out=``). The CLI turns positional dirs into ``dirs=[...]``.
"""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from llmpp.config import CONF_DIR
from llmpp.report.writer import Report, summary_line, write_report
from llmpp.stages.common import guarded, run_dir


def run_report(cfg: DictConfig, out_dir: Path) -> Report:
    """Compare the runs under ``cfg.dirs``; writes into ``cfg.out`` or ``out_dir``."""
    target = Path(str(cfg.out)).expanduser() if cfg.get("out") else out_dir
    return write_report([str(d) for d in cfg.dirs or []], target, plots=bool(cfg.plots))


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="report")
@guarded
def main(cfg: DictConfig) -> None:
    report = run_report(cfg, run_dir())
    print(report.markdown)
    print(summary_line(report))


if __name__ == "__main__":  # `python -m llmpp.stages.report`
    main()
