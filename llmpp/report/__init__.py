"""Compare finished runs: one Markdown/CSV table and comparison plots from their JSON outputs.

``llmpp report <run or sweep dirs...>`` and the multirun callback
(``hydra/callbacks=report``) both call ``write_report``. Reads only files; works offline.
"""

from llmpp.report.writer import Report, build_report, write_report

__all__ = ["Report", "build_report", "write_report"]
