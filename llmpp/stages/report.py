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
from llmpp.report.writer import write_report
from llmpp.results import ReportResult
from llmpp.stages.common import guarded, run_dir


def run_report(cfg: DictConfig, out_dir: Path) -> ReportResult:
    """Compare the runs under ``cfg.dirs``; writes into ``cfg.out`` or ``out_dir``."""
    target = Path(str(cfg.out)).expanduser() if cfg.out else out_dir
    report = write_report([str(d) for d in cfg.dirs or []], target, plots=bool(cfg.plots))
    return ReportResult(paths={name: str(path) for name, path in report.paths.items()},
                        runs=len(report.runs), table=report.markdown)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="report")
@guarded
def main(cfg: DictConfig) -> None:
    result = run_report(cfg, run_dir())
    print(result.table)
    print("wrote " + ", ".join(result.paths.values()))


if __name__ == "__main__":  # `python -m llmpp.stages.report`
    main()
