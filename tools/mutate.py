"""Mutation testing of llmpp's core modules, one module at a time (``make mutate``).

Each module of ``[tool.llmpp.mutate.modules]`` in ``pyproject.toml`` names the files
to mutate and the few test files that cover them; mutmut (configured under
``[tool.mutmut]``) then runs only those tests against each mutant, so one module
takes minutes on two cores instead of the whole suite per mutant.

Two numbers per module. *Killed* = killed / all mutants: a survivor, a mutant no
selected test reaches ("no tests") and a suspicious one all count against it. *Score*
= killed / (all mutants - equivalent), the usual mutation score: ``equivalent`` in the
module's table lists the mutants shown to behave exactly like the code on every input
it can receive (each with its reason in docs/TESTING.md). A mutant not killed and not
listed is *untriaged* (a test to write, or a reason to give); a listed one that was
killed or no longer exists is *stale* (the code moved: triage it again).

    python tools/mutate.py                  # every module, smallest first
    python tools/mutate.py efficiency llm   # just these
    python tools/mutate.py --list           # the module map
    python tools/mutate.py space --again    # rerun only the last run's mutants not killed

Writes ``mutants-scores/<module>.json`` (counts and the surviving mutants' names) and
``mutants-scores/<module>.diff`` (each survivor's diff). ``mutants/`` is scratch (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tomllib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KILLED = {"killed", "timeout", "caught by type check"}


def short_name(mutant: str) -> str:
    """The name ``equivalent`` lists: ``Class.method__mutmut_3`` or ``function__mutmut_3``.

    (mutmut's are ``pkg.mod.xǁClassǁmethod__mutmut_3`` and ``pkg.mod.x_function__mutmut_3``.)
    """
    last = mutant.rsplit(".", 1)[-1]
    if last.startswith("xǁ"):
        return ".".join(last.removeprefix("xǁ").split("ǁ"))
    return last.removeprefix("x_")


def module_map() -> dict[str, dict[str, list[str]]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return data["tool"]["llmpp"]["mutate"]["modules"]


def configure(files: list[str], tests: list[str]) -> None:
    """Narrow mutmut's pyproject config to one module: its files and its tests."""
    import mutmut.configuration as configuration

    load = configuration._load_config

    def narrowed() -> configuration.Config:
        cfg = load()
        cfg.only_mutate = list(files)
        cfg.pytest_add_cli_args_test_selection = list(tests)
        return cfg

    configuration._load_config = narrowed
    configuration.reset_config()


def run_module(name: str, files: list[str], tests: list[str], only: list[str] = ()) -> int:
    """Run mutmut for one module in a child process (mutmut keeps global state).

    ``only``: rerun just these mutants of the module's last run (``mutants/`` kept).
    """
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            configure(files, tests)
            from mutmut.__main__ import cli

            cli(["run", "--max-children", os.environ.get("MUTATE_JOBS", "2"), *only],
                standalone_mode=False)
        except SystemExit as exc:
            code = int(exc.code or 0)
        except BaseException as exc:  # noqa: BLE001 - reported, then the child ends
            print(f"mutmut failed on {name}: {exc!r}", file=sys.stderr)
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(f"{name}: mutmut exited with {code}; no scores written (see its output above)",
              file=sys.stderr)
    return code


def survivor_diffs(files: list[str], names: list[str]) -> str:
    """The diff of every mutant not killed (what a new test must tell apart)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    out = []
    for label in names:
        mutant = label.split(" ")[0]
        prefix = mutant.rsplit(".x_", 1)[0].replace(".", "/")
        path = next((f for f in files if f.removesuffix(".py") == prefix), None)
        try:
            out.append(f"# {label}\n{get_diff_for_mutant(mutant, path=path)}")
        except Exception as exc:  # noqa: BLE001 - a missing diff must not lose the scores
            out.append(f"# {label}: no diff ({exc!r})")
    return "\n".join(out)


def score(name: str, files: list[str], equivalent: list[str]) -> dict:
    """Counts per status over the module's files, read from mutmut's meta files."""
    from mutmut.stats import status_by_exit_code

    counts: Counter[str] = Counter()
    survivors: list[str] = []
    seen: set[str] = set()
    for file in files:
        meta = ROOT / "mutants" / f"{file}.meta"
        if not meta.is_file():
            continue
        for key, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            status = status_by_exit_code[code]
            counts[status] += 1
            if status not in KILLED:
                survivors.append(f"{key} ({status})")
                seen.add(short_name(key))
    total = sum(counts.values())
    killed = sum(counts[s] for s in KILLED)
    listed = set(equivalent)
    untriaged = [s for s in sorted(survivors) if short_name(s.split(" ")[0]) not in listed]
    confirmed = len(listed & seen)
    return {
        "module": name,
        "files": files,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "total": total,
        "killed": killed,
        "killed_fraction": killed / total if total else None,
        "equivalent": confirmed,
        "score": killed / (total - confirmed) if total > confirmed else None,
        "counts": dict(counts),
        "not_killed": sorted(survivors),
        "untriaged": untriaged,
        "stale_equivalent": sorted(listed - seen),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="module names (default: all)")
    parser.add_argument("--list", action="store_true", help="print the module map and exit")
    parser.add_argument("--again", action="store_true",
                        help="rerun only the mutants the module's last run left not killed "
                             "(after writing tests for them; one module, mutants/ kept; with "
                             "its map changed, mutmut forgets the other mutants' results)")
    args = parser.parse_args()
    modules = module_map()
    if args.list:
        for name, spec in modules.items():
            print(f"{name}: {' '.join(spec['files'])}\n    tests: {' '.join(spec['tests'])}")
        return 0
    unknown = [m for m in args.modules if m not in modules]
    if unknown:
        print(f"unknown module {unknown[0]!r}; choose from: {', '.join(modules)}",
              file=sys.stderr)
        return 2
    os.chdir(ROOT)
    os.environ.setdefault("LLMPP_TEST_GOLD_ROOT", str(ROOT.parent / "shared" / "llmas" / "data"))
    # One intra-op thread per worker: mutmut forks its workers from a process that has
    # imported torch, and a forked OpenMP pool spins until the CPU limit ("timeout").
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    if args.again and len(args.modules) != 1:
        print("--again reruns one module: name it (e.g. tools/mutate.py space --again)",
              file=sys.stderr)
        return 2
    results, failed = [], False
    for name in args.modules or list(modules):
        spec = modules[name]
        if args.again:
            last = ROOT / "mutants-scores" / f"{name}.json"
            meta = [ROOT / "mutants" / f"{f}.meta" for f in spec["files"]]
            if not last.is_file() or not all(m.is_file() for m in meta):
                print(f"no last run of {name} to rerun (mutants/ holds another module or "
                      f"none); run `tools/mutate.py {name}` first", file=sys.stderr)
                return 2
            only = [n.split(" ")[0] for n in json.loads(last.read_text())["not_killed"]]
            code = run_module(name, spec["files"], spec["tests"], only) if only else 0
        else:
            shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # a clean copy per module
            code = run_module(name, spec["files"], spec["tests"])
        if code != 0:
            failed = True
            continue
        result = score(name, spec["files"], spec.get("equivalent", []))
        out = ROOT / "mutants-scores" / f"{name}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        out.with_suffix(".diff").write_text(survivor_diffs(spec["files"], result["not_killed"]))
        results.append(result)
    print("\nmodule | killed / mutants | killed | equivalent | score | untriaged")
    for r in results:
        print(f"{r['module']} | {r['killed']} / {r['total']} | {_pct(r['killed_fraction'])} | "
              f"{r['equivalent']} | {_pct(r['score'])} | {len(r['untriaged'])}")
        for survivor in r["untriaged"]:
            print(f"    untriaged: {survivor}")
        for stale in r["stale_equivalent"]:
            print(f"    listed as equivalent but killed or gone (triage again): {stale}")
    return 1 if failed else 0


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


if __name__ == "__main__":
    sys.exit(main())
