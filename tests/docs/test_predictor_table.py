"""benchmarks/predictor_table.py: presets needing the user's own inputs are one-line skips."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "predictor_table.py"


def test_presets_needing_user_inputs_are_one_line_skips(gold_root, monkeypatch, capsys) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--root", str(gold_root),
                                      "--presets", "bench_distill_pp,bench_llm_pp_gpt4"])
    runpy.run_path(str(SCRIPT), run_name="__main__")  # no exception: the table finishes
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("| preset |") and len(out.splitlines()) == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 2 and "Traceback" not in err, err
    assert lines[0].startswith("skipped bench_distill_pp: ") and "distill.ckpt" in lines[0]
    assert lines[1].startswith("skipped bench_llm_pp_gpt4: ") and "OPENAI_API_KEY" in lines[1]


def test_the_local_llm_row_runs_only_when_named(gold_root, monkeypatch, capsys) -> None:
    module = runpy.run_path(str(SCRIPT))
    try:
        module["row"]("bench_llm_pp_local", str(gold_root), Path("unused"))
    except module["Skipped"] as exc:
        assert "--presets bench_llm_pp_local" in str(exc)
    else:
        raise AssertionError("the 48-minute local-LLM row ran without being asked for")
