"""Corpus build, load and batching: the old in-memory path vs. the binarized memory map.

Every measurement runs in its own fresh process (one contender, one phase), on the
same raw text: the synthetic corpus of ``--pairs`` training pairs is generated once
into local text files (``task.data.data_dir``), so both builders read the same input
and the generator's own time is not part of either build. The old path is the code
of a git revision (default 785adb5, the last one with ``ids.pt``/``text.json``),
exported to a throwaway folder and put first on ``PYTHONPATH`` for its processes.

    .venv/bin/python benchmarks/data_corpus.py --pairs 100000 1000000 --workers 1 2

Columns: build seconds (per worker count), bytes on disk per token (all files of
the corpus folder / source+target tokens of all splits), load seconds and RSS
growth of a fresh process opening the corpus, and training batches per second from
the DataLoader (``max_tokens=4096``, one epoch's plan included, up to ``--batches``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> dict[str, float]:
    """Resident memory of this process (total and anonymous, i.e. not shared file pages)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def task_config(data_dir: Path, pairs: int) -> dict:
    """The synthetic task reading its pre-generated text (same content for both paths)."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(OmegaConf.load(ROOT / "conf/task/synthetic_en_de.yaml"))
    cfg["name"] = f"bench_synthetic_{pairs}"
    cfg["data"] = {
        "kind": "wmt",
        "data_dir": str(data_dir),
        "max_pairs": {"train": None, "valid": None, "test": None},
        **{k: v for k, v in cfg["data"].items() if k.startswith("spm_")},
    }
    return cfg


def tile(base: Path, data_dir: Path, pairs: int) -> None:
    """``pairs`` training pairs made of ``base``'s training text repeated (valid/test copied).

    The generator makes about 4 MB of text a minute on a loaded two-core machine; a
    repeated corpus has the same sentence lengths and encoding cost per pair.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    if (data_dir / "done").exists():
        return
    for lang in ("en", "de"):
        lines = (base / f"train.{lang}").read_text().splitlines(keepends=True)
        with open(data_dir / f"train.{lang}", "w") as out:
            for k in range(pairs):
                out.write(lines[k % len(lines)])
        for split in ("valid", "test"):
            shutil.copy(base / f"{split}.{lang}", data_dir / f"{split}.{lang}")
    (data_dir / "done").touch()


def generate(data_dir: Path, pairs: int) -> None:
    """Write the synthetic corpus (``pairs`` training pairs) as local text files once."""
    from llmpp.data.synthetic import synthetic_split_iters

    data_dir.mkdir(parents=True, exist_ok=True)
    if (data_dir / "done").exists():
        return
    sizes = {"train": pairs, "valid": 3000, "test": 3000}
    for split, stream in synthetic_split_iters(sizes, 0):
        with open(data_dir / f"{split}.en", "w") as fs, open(data_dir / f"{split}.de", "w") as ft:
            for src, tgt in stream:
                fs.write(src + "\n")
                ft.write(tgt + "\n")
    (data_dir / "done").touch()


# ---- child phases (run with PYTHONPATH choosing the old or the new llmpp) -----------------
def child_build(cfg: dict, workers: int) -> dict:
    import llmpp.data.corpus as corpus

    started = time.perf_counter()
    if "workers" in corpus.prepare_corpus.__code__.co_varnames:
        root = corpus.prepare_corpus(cfg, workers=workers)
    else:
        root = corpus.prepare_corpus(cfg)
    seconds = time.perf_counter() - started
    disk = sum(p.stat().st_size for p in Path(root).iterdir() if p.is_file())
    meta = Path(root) / "meta.json"
    phases = json.loads(meta.read_text()).get("phase_seconds") if meta.exists() else None
    return {"build_s": seconds, "disk_bytes": disk, "phases": phases, "llmpp": corpus.__file__}


def _tokens(corpus) -> int:
    if hasattr(corpus, "ids"):  # the old format: lists of pairs
        return sum(len(s) + len(t) for pairs in corpus.ids.values() for s, t in pairs)
    return sum(v["src_tokens"] + v["tgt_tokens"] for v in corpus.meta["splits"].values())


def child_load(cfg: dict, batches: int) -> dict:
    from llmpp.data.corpus import load_corpus
    from llmpp.data.datamodule import TranslationDataModule  # torch + Lightning, as in training

    before = rss_mb()
    started = time.perf_counter()
    corpus = load_corpus(cfg)
    load_s = time.perf_counter() - started
    after = rss_mb()
    tokens = _tokens(corpus)
    dm = TranslationDataModule(cfg, max_tokens=4096, seed=0)
    dm.corpus = corpus
    started = time.perf_counter()
    count = 0
    for _ in dm.train_dataloader():
        count += 1
        if count >= batches:
            break
    loader_s = time.perf_counter() - started
    return {
        "load_s": load_s,
        "rss_growth_mb": after["VmRSS"] - before["VmRSS"],
        "tokens": tokens,
        "batches": count,
        "batches_per_s": count / loader_s,
        "rss_after_batches_mb": rss_mb(),
    }


def run_child(impl_path: Path, phase: str, cfg: dict, arg: int, cache: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(impl_path), "LLMPP_CACHE_DIR": str(cache)}
    env["OMP_NUM_THREADS"] = "1"
    code = [sys.executable, __file__, "--child", phase, json.dumps(cfg), str(arg)]
    out = subprocess.run(code, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def export_old(revision: str, dest: Path) -> Path:
    """``git archive <revision> llmpp`` into ``dest``: the old path, untouched."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "llmpp"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        phase, cfg, arg = sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
        result = child_build(cfg, arg) if phase == "build" else child_load(cfg, arg)
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, nargs="+", default=[100_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--old", default="785adb5", help="git revision of the old path")
    parser.add_argument("--old-max-pairs", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument(
        "--tile-from", type=int, default=None, help="repeat a generated corpus of this size"
    )
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "llmpp-bench-data"))
    args = parser.parse_args()
    work = Path(args.work)
    old = export_old(args.old, work / "old-src")
    rows = []
    for pairs in args.pairs:
        text = work / f"text-{pairs}"
        if args.tile_from and pairs > args.tile_from:
            generate(work / f"text-{args.tile_from}", args.tile_from)
            text = work / f"tiled-{pairs}"
            tile(work / f"text-{args.tile_from}", text, pairs)
        else:
            generate(text, pairs)
        cfg = task_config(text, pairs)
        contenders = [("new", ROOT)] + ([("old", old)] if pairs <= args.old_max_pairs else [])
        for name, path in contenders:
            row = {"pairs": pairs, "path": name, "build_s": {}}
            for workers in args.workers if name == "new" else [1]:
                cache = work / f"cache-{name}-{pairs}-{workers}"
                shutil.rmtree(cache, ignore_errors=True)
                built = run_child(path, "build", cfg, workers, cache)
                row["build_s"][workers] = round(built["build_s"], 2)
                row.setdefault("phases", {})[workers] = built["phases"]
                row["llmpp"] = built["llmpp"]
                row["disk_bytes"] = built["disk_bytes"]
            row |= run_child(path, "load", cfg, args.batches, cache)
            row["bytes_per_token"] = row["disk_bytes"] / row["tokens"]
            for stale in work.glob(f"cache-{name}-{pairs}-*"):
                shutil.rmtree(stale, ignore_errors=True)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(
        "\n| pairs | path | build s (workers) | bytes on disk / token | load s | RSS growth MB "
        "| batches/s |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        build = ", ".join(f"{s} ({w})" for w, s in r["build_s"].items())
        print(
            f"| {r['pairs']:,} | {r['path']} | {build} | {r['bytes_per_token']:.2f} "
            f"| {r['load_s']:.3f} | {r['rss_growth_mb']:.1f} | {r['batches_per_s']:.0f} |"
        )


if __name__ == "__main__":
    main()
