"""Kill ``llmpp run`` anywhere, restart it, and compare it with an uninterrupted run.

The driver starts the real CLI as a subprocess against a :class:`FakeLLMServer` (which
counts every request), watches the run's progress on disk (step directories, temp
files, the corpus build) and at the server (requests in flight), and SIGKILLs the
run's main process when a chosen instant comes: inside each step (a corpus build, a
training loop, a checkpoint being written, a label batch with a request in flight, a
search iteration) and between steps. Each kill is followed by a restart of the same
command, until one attempt finishes. Only the main process is killed, as the OOM
killer or ``kill -9`` does: the children it had (data-build workers, a local LLM
server) must end by themselves, which is checked in the process table after each kill.

A second, uninterrupted run of the same config in a fresh artifacts directory (with
its own reply cache and server) is the reference. :func:`compare_runs` lists every
difference between the two; :class:`ChaosReport` holds what the checks need.
Used by ``tests/pipeline/test_chaos_pipeline.py`` and ``benchmarks/chaos_pipeline.py``.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmpp.testing.fake_llm_server import FakeLLMServer

STEPS = ("supernet", "latency", "gold", "label", "distill", "search", "retrain")
# Smallest budgets that keep every step real (run_smoke's, with a slower fake LLM so a
# label batch lasts long enough to be cut, one request at a time).
SMOKE = ("experiment=run_smoke", "logger=none")
SERVER_DELAY = 0.3  # seconds per LLM reply
POLL = 0.005  # seconds between progress checks (a checkpoint write lasts ~50 ms)
ORPHAN_GRACE = 10.0  # seconds a dead run's children get to notice and exit


# ---- the process table ---------------------------------------------------------------
def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a live process, else None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # the name may hold spaces and parens
    if fields[0] == "Z":  # a zombie has exited; only its parent's wait is missing
        return None
    return int(fields[1]), int(fields[19])


def descendants(root: int) -> set[tuple[int, int]]:
    """Every live descendant of ``root`` as (pid, start time): the start time tells a
    process from a later one that reuses its pid."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (info := _stat(int(entry))) is not None:
            children.setdefault(info[0], []).append((int(entry), info[1]))
    found: set[tuple[int, int]] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child[0])
    return found


def alive(process: tuple[int, int]) -> bool:
    info = _stat(process[0])
    return info is not None and info[1] == process[1]


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return "?"


# ---- progress, as the driver sees it --------------------------------------------------
@dataclass
class Probe:
    """What the running attempt has done so far, read from disk and from the server."""

    artifacts: Path
    cache: Path
    server: FakeLLMServer
    pid: int = 0
    answered_at_start: int = 0
    started: float = 0.0  # the attempt's start (time.time()): older files are not its own

    def step_dir(self, step: str) -> Path | None:
        base = self.artifacts / step
        if not base.is_dir():
            return None
        dirs = [p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")]
        return dirs[0] if dirs else None

    def finished(self, step: str) -> bool:
        found = self.step_dir(step)
        return found is not None and (found / "result.json").is_file()

    def running(self, step: str) -> Path | None:
        """The step's directory while the step is being built."""
        found = self.step_dir(step)
        return found if found is not None and not (found / "result.json").is_file() else None

    def answered(self) -> int:
        with self.server.lock:
            return sum(self.server.answered.values())


def _corpus_encoding(p: Probe) -> bool:
    builds = list((p.cache / "data").glob("*/.build-*/spm.model"))
    return bool(builds) and len(descendants(p.pid)) >= 2  # the encoding pool is up


def _supernet_training(p: Probe) -> bool:
    found = p.running("supernet")
    return (found is not None and any((p.cache / "data").glob("*/*/meta.json"))
            and not (found / "checkpoints" / "last.ckpt").exists())


def _writing(step: str, sub: str) -> Callable[[Probe], bool]:
    def check(p: Probe) -> bool:
        found = p.running(step)
        return found is not None and any(
            _newer(path, p.started) for path in (found / sub).glob(".last.ckpt.*.tmp"))
    return check


def _newer(path: Path, since: float) -> bool:
    try:
        return path.stat().st_mtime >= since
    except OSError:  # renamed into place meanwhile
        return False


def _inside(step: str, sub: str = "") -> Callable[[Probe], bool]:
    def check(p: Probe) -> bool:
        found = p.running(step)
        return found is not None and (not sub or any(found.glob(sub)))
    return check


def _label_batch(p: Probe) -> bool:
    """A request is waiting for its reply, after one reply of this attempt arrived."""
    with p.server.lock:
        waiting = any(n > p.server.answered[q] for q, n in p.server.counts.items())
    return (p.running("label") is not None and waiting
            and p.answered() > p.answered_at_start)


@dataclass(frozen=True)
class Target:
    """An instant to kill at: when ``fires`` first holds, after up to ``jitter`` seconds."""

    name: str
    step: str
    fires: Callable[[Probe], bool]
    jitter: float = 0.0
    essential: bool = False  # kept in every plan (the instants issue 25 names)

    def passed(self, p: Probe) -> bool:
        """The run went past this instant (its step finished, or the next one did)."""
        if self.step.startswith("between "):
            later = STEPS[STEPS.index(self.step.split()[1]) + 1]
            return p.finished(later)
        return p.finished(self.step)


TARGETS = (
    Target("corpus build (encoding pool up)", "supernet", _corpus_encoding, 0.3, True),
    Target("supernet training", "supernet", _supernet_training, 1.0),
    Target("supernet last.ckpt write", "supernet", _writing("supernet", "checkpoints"),
           essential=True),
    Target("after supernet, before latency", "between supernet",
           lambda p: p.finished("supernet"), essential=True),
    Target("latency measuring", "latency", _inside("latency"), 1.0),
    Target("gold: 2nd demonstration", "gold", _inside("gold", "archs/001-*"), 1.0),
    Target("label batch (a request in flight)", "label", _label_batch),
    Target("distill training", "distill", _inside("distill"), 0.1),
    Target("search iteration", "search", _inside("search", "search_state.json"), 0.2),
    Target("retrain training", "retrain", _inside("retrain", "arch"), 0.5, True),
    Target("retrain last.ckpt write", "retrain", _writing("retrain", "arch/checkpoints")),
)


def kill_plan(kills: int, seed: int) -> list[Target]:
    """``kills`` targets in pipeline order: every target once; fewer, a seeded choice that
    keeps the essential ones and one per step (so at least 9); more, seeded repeats (a
    restart killed again at the same place)."""
    rng = random.Random(seed)
    chosen = list(TARGETS)
    while len(chosen) > kills:
        spare = [t for t in chosen
                 if not t.essential and sum(c.step == t.step for c in chosen) > 1]
        if not spare:
            break
        chosen.remove(rng.choice(spare))
    while len(chosen) < kills:
        chosen.append(rng.choice(TARGETS))
    return sorted(chosen, key=TARGETS.index)


# ---- one run: attempts, kills, restarts ---------------------------------------------
@dataclass
class Kill:
    target: str
    step: str
    attempt: int
    seconds: float  # into the attempt
    children: list[str]  # command lines of the descendants when it was killed
    orphans: list[str]  # those still alive after ORPHAN_GRACE
    cut: list[str]  # prompts whose request was in flight


@dataclass
class RunRecord:
    artifacts: Path
    cache: Path
    attempts: int = 0
    kills: list[Kill] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    summary: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def command(base_url: str, artifacts: Path, run_dir: Path, extra: Sequence[str]) -> list[str]:
    return [
        sys.executable, "-m", "llmpp.cli", "run", *SMOKE,
        "llm=openai_compatible", f"llm.base_url={base_url}", "llm.model=fake",
        "llm.mode=completion", "llm.concurrency=1", "llm.timeout=20",
        f"run.artifacts={artifacts}", f"hydra.run.dir={run_dir}", *extra,
    ]


def _environment(cache: Path) -> dict[str, str]:
    return {**os.environ, "LLMPP_CACHE_DIR": str(cache), "WANDB_MODE": "offline",
            "PYTHONUNBUFFERED": "1"}


def _kill(proc: subprocess.Popen, probe: Probe, target: Target, attempt: int,
          started: float) -> Kill:
    before = descendants(proc.pid)
    names = [command_line(pid) for pid, _ in before]
    server = probe.server
    with server.lock:  # the server neither takes nor answers a request meanwhile
        # Asked and not answered: the kill cuts these, the client never sees their reply.
        cut = [p for p, n in server.counts.items() if n > server.answered[p]]
        asked = Counter(server.counts)
        proc.send_signal(signal.SIGKILL)  # the main process only: children must follow alone
    proc.wait()
    deadline = time.monotonic() + ORPHAN_GRACE
    while any(alive(c) for c in before) and time.monotonic() < deadline:
        time.sleep(0.05)
    orphans = []
    for child in before:
        if alive(child):  # report it, then end it: the next attempt must not see it
            orphans.append(command_line(child[0]))
            os.kill(child[0], signal.SIGKILL)
    time.sleep(0.2)  # a request the dead client had sent that the server reads only now
    with server.lock:
        cut += list((Counter(server.counts) - asked).elements())
    return Kill(target.name, target.step, attempt, time.monotonic() - started, names,
                orphans, cut)


def run_with_kills(
    work: Path, plan: Sequence[Target], *, seed: int, extra: Sequence[str] = (),
    budget: float = 1800.0, log: Callable[[str], None] = lambda _: None,
) -> RunRecord:
    """Run the pipeline, killing it at each of ``plan``'s instants in turn, restarting
    after each kill until an attempt completes; returns what happened. Past ``budget``
    seconds in all, the attempt running is killed and ``TimeoutError`` raised."""
    rng = random.Random(seed)
    record = RunRecord(work / "artifacts", work / "cache")
    todo = list(plan)
    began = time.monotonic()
    with FakeLLMServer(delay=SERVER_DELAY) as server:
        probe = Probe(record.artifacts, record.cache, server)
        while True:
            record.attempts += 1
            run_dir = work / f"attempt-{record.attempts:02d}"
            run_dir.mkdir(parents=True)
            with open(run_dir / "stdout.txt", "w") as out, open(run_dir / "stderr.txt", "w") as err:
                proc = subprocess.Popen(
                    command(server.base_url, record.artifacts, run_dir, extra),
                    stdout=out, stderr=err, cwd=work, env=_environment(record.cache))
            probe.pid, probe.answered_at_start = proc.pid, probe.answered()
            probe.started = time.time()  # a temp file older than this is a killed one's
            try:
                killed = _watch(proc, probe, todo, rng, record, began + budget, log)
            except BaseException:
                _end(proc)  # the test stops; the run it started must not go on
                raise
            if not killed:
                break
        record.requests = Counter(server.counts)
    if proc.returncode != 0:
        tail = (run_dir / "stderr.txt").read_text()[-3000:]
        raise RuntimeError(f"attempt {record.attempts} failed ({proc.returncode}): {tail}")
    record.summary = json.loads((run_dir / "summary.json").read_text())
    record.seconds = time.monotonic() - began
    return record


def _watch(proc: subprocess.Popen, probe: Probe, todo: list[Target], rng: random.Random,
           record: RunRecord, deadline: float,
           log: Callable[[str], None]) -> bool:
    """Watch one attempt; True when it was killed, False when it exited by itself."""
    started = time.monotonic()
    fired_at: float | None = None
    delay = 0.0
    while proc.poll() is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"attempt {record.attempts}: the run is past its time budget")
        while todo and fired_at is None and todo[0].passed(probe):
            record.missed.append(todo.pop(0).name)
            log(f"missed: {record.missed[-1]}")
        if todo and fired_at is None and todo[0].fires(probe):
            fired_at, delay = time.monotonic(), rng.uniform(0, todo[0].jitter)
        if fired_at is not None and time.monotonic() - fired_at >= delay:
            target = todo.pop(0)
            kill = _kill(proc, probe, target, record.attempts, started)
            record.kills.append(kill)
            log(f"kill {len(record.kills)} at {target.name} ({kill.seconds:.1f} s into "
                f"attempt {kill.attempt}); children {len(kill.children)}, "
                f"orphans {len(kill.orphans)}")
            return True
        time.sleep(POLL)
    return False


def _end(proc: subprocess.Popen) -> None:
    """Kill a run this driver started, and what it started."""
    family = descendants(proc.pid)
    proc.kill()
    proc.wait()
    for child in family:
        if alive(child):
            os.kill(child[0], signal.SIGKILL)


def uninterrupted(work: Path, *, extra: Sequence[str] = (), budget: float = 1800.0) -> RunRecord:
    """The reference: the same command, run once through, with its own server and cache."""
    return run_with_kills(work, [], seed=0, extra=extra, budget=budget)


# ---- after the runs: leftovers and results ----------------------------------------------
def leftovers(*roots: Path) -> list[str]:
    """Temp files, discarded or unfinished build directories, and locks still held."""
    found = []
    for root in roots:
        for path in root.rglob("*"):
            name = path.name
            if name.startswith(".") and (name.endswith(".tmp") or ".discarded-" in name
                                         or name.startswith(".build-")):
                found.append(f"left behind: {path}")
            elif name.endswith(".lock") and path.is_file() and _held(path):
                found.append(f"lock still held: {path}")
    return found


def _held(path: Path) -> bool:
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


# Results that measure this machine's speed, not what the run computed.
TIMED = ("seconds", "_s", "speed", "per_second")
# The latency step times real forward passes: its measurements (and what is fitted to
# them) differ between any two runs, interrupted or not. Only its sample is compared.
MEASURED = {"latency": ("archs", "n_archs")}


# An LLM cost block counts what the attempt that finished the step asked; replies an
# earlier, killed attempt paid for come back from the reply cache as hits. What the step
# got is the same: asked + replayed, in calls and in tokens.
CACHED = {"llm_calls": "cache_hits", "requests": "cache_hits",
          "prompt_tokens": "cached_prompt_tokens",
          "completion_tokens": "cached_completion_tokens"}


def _fold_cost(cost: dict[str, Any]) -> dict[str, Any]:
    folded = {k: v for k, v in cost.items() if k not in CACHED.values()}
    for key, cached in CACHED.items():
        if key in folded:
            folded[key] = cost[key] + cost.get(cached, 0)
    return folded


def _normal(value: Any, roots: tuple[str, str]) -> Any:
    if isinstance(value, dict) and "cache_hits" in value:
        value = _fold_cost(value)
    if isinstance(value, dict):
        return {k: _normal(v, roots) for k, v in value.items()
                if k != "output_files" and k != "dir" and not k.endswith(TIMED)}
    if isinstance(value, list):
        return [_normal(v, roots) for v in value]
    if isinstance(value, str):
        value = value.replace(roots[0], "<artifacts>").replace(roots[1], "<artifacts>")
        return "<step dir>" if value.startswith("<artifacts>/") else value
    return value


def step_result(artifacts: Path, step: str) -> dict[str, Any]:
    found = [p for p in (artifacts / step).glob("*/result.json")]
    if len(found) != 1:
        raise AssertionError(f"{artifacts / step}: {len(found)} finished results")
    return json.loads(found[0].read_text())


def compare_runs(chaos: RunRecord, reference: RunRecord) -> list[str]:
    """Every difference between the two runs' results (empty: the same results)."""
    roots = (str(chaos.artifacts), str(reference.artifacts))
    problems = []
    for step in STEPS:
        got = _normal(step_result(chaos.artifacts, step), roots)
        want = _normal(step_result(reference.artifacts, step), roots)
        if step in MEASURED:
            got = {k: got.get(k) for k in MEASURED[step]}
            want = {k: want.get(k) for k in MEASURED[step]}
        problems += [f"{step}: {d}" for d in _diff(got, want)]
    best = {k: v for k, v in chaos.summary["best"].items() if k != "latency_ms"}
    want_best = {k: v for k, v in reference.summary["best"].items() if k != "latency_ms"}
    if best != want_best:
        problems.append(f"best architecture: {best} != {want_best}")
    return problems


def _diff(got: Any, want: Any, where: str = "") -> list[str]:
    if isinstance(got, dict) and isinstance(want, dict):
        out = []
        for key in sorted(set(got) | set(want)):
            out += _diff(got.get(key), want.get(key), f"{where}.{key}")
        return out
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [d for i, (a, b) in enumerate(zip(got, want, strict=True))
                for d in _diff(a, b, f"{where}[{i}]")]
    return [] if got == want else [f"{where or '.'}: {got!r} != {want!r}"]


def paid_twice(chaos: RunRecord, reference: RunRecord) -> list[str]:
    """Requests the chaos run paid beyond the reference's, other than those a kill cut
    (asked, never answered: the client cannot know the reply, so it asks again)."""
    cut = Counter(p for kill in chaos.kills for p in kill.cut)
    allowed = reference.requests + cut
    return [f"{n - allowed[p]} extra request(s) for {p[-80:]!r}"
            for p, n in chaos.requests.items() if n > allowed[p]] + [
        f"never asked: {p[-80:]!r}" for p in reference.requests if p not in chaos.requests]


@dataclass
class ChaosReport:
    chaos: RunRecord
    reference: RunRecord
    differences: list[str]
    paid_twice: list[str]
    leftovers: list[str]

    @property
    def orphans(self) -> list[str]:
        return [o for kill in self.chaos.kills for o in kill.orphans]

    @property
    def kills_per_step(self) -> Counter[str]:
        return Counter(kill.step for kill in self.chaos.kills)

    def rows(self) -> list[tuple[str, str]]:
        cut = sum(len(k.cut) for k in self.chaos.kills)
        per_step = ", ".join(f"{s} {self.kills_per_step[s]}" for s in
                             (*STEPS[:1], "between supernet", *STEPS[1:])
                             if self.kills_per_step[s])
        return [
            ("kills", str(len(self.chaos.kills))),
            ("restarts", str(self.chaos.attempts - 1)),
            ("kills per step", per_step),
            ("instants missed (the run went past them)", str(len(self.chaos.missed))),
            ("children alive at the kills", str(sum(len(k.children) for k in self.chaos.kills))),
            ("orphans found", str(len(self.orphans))),
            ("LLM requests paid: chaos / uninterrupted",
             f"{sum(self.chaos.requests.values())} / {sum(self.reference.requests.values())}"),
            ("requests cut in flight by a kill (asked again)", str(cut)),
            ("requests paid twice (other than cut)", str(len(self.paid_twice))),
            ("temp files, unfinished builds, held locks left", str(len(self.leftovers))),
            ("results equal (every step, best architecture)",
             "yes" if not self.differences else f"no ({len(self.differences)} differences)"),
            ("wall seconds: chaos / uninterrupted",
             f"{self.chaos.seconds:.0f} / {self.reference.seconds:.0f}"),
        ]

    def table(self) -> str:
        lines = ["| measure | value |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in self.rows()]
        return "\n".join(lines)


def chaos_experiment(work: Path, *, kills: int, seed: int, extra: Sequence[str] = (),
                     budget: float = 3600.0,
                     log: Callable[[str], None] = lambda _: None) -> ChaosReport:
    """The chaos run (``kills`` kills, seeded), the uninterrupted reference, the checks;
    ``budget``: seconds for both runs (the chaos run gets three quarters)."""
    chaos = run_with_kills(work / "chaos", kill_plan(kills, seed), seed=seed, extra=extra,
                           budget=0.75 * budget, log=log)
    log(f"chaos run done: {len(chaos.kills)} kills, {chaos.attempts} attempts")
    reference = uninterrupted(work / "reference", extra=extra, budget=0.25 * budget)
    log("uninterrupted run done")
    return ChaosReport(chaos, reference, compare_runs(chaos, reference),
                       paid_twice(chaos, reference),
                       leftovers(chaos.artifacts, chaos.cache))
