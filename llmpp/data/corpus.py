"""A task's corpus, tokenised with a joint SentencePiece model and cached on disk.

The first use loads the raw pairs (``llmpp.data.sources``), trains one SentencePiece
model on the training text of both languages with the task's ``vocab_size``, encodes
every split and writes all of it atomically into
``<cache>/data/<task>/<fingerprint>/``. Later uses (and the other DDP ranks) only
read the cache. The fingerprint covers everything that changes the result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from llmpp.data.sources import SPLITS, load_pairs
from llmpp.errors import ConfigError, CorruptFileError
from llmpp.utils.paths import cache_dir

log = logging.getLogger(__name__)

PAD, UNK, BOS, EOS = 0, 1, 2, 3
FORMAT_VERSION = 1


def _plain(cfg: Mapping[str, Any] | DictConfig) -> dict[str, Any]:
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return dict(cfg)


def fingerprint(task_cfg: Mapping[str, Any]) -> str:
    """Hash of everything that determines the cached corpus."""
    keys = ("name", "source_lang", "target_lang", "vocab_size", "data")
    payload = {k: task_cfg.get(k) for k in keys} | {"format": FORMAT_VERSION}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class Corpus:
    """Token ids of every split, the raw target references, and the tokenizer."""

    root: Path
    ids: dict[str, list[tuple[list[int], list[int]]]]
    references: dict[str, list[str]]
    sources: dict[str, list[str]]
    vocab_size: int

    @property
    def spm_path(self) -> Path:
        return self.root / "spm.model"

    def tokenizer(self):
        import sentencepiece as spm

        return spm.SentencePieceProcessor(model_file=str(self.spm_path))

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer().decode(ids)


def _train_spm(text_file: Path, prefix: Path, vocab_size: int, data: Mapping[str, Any]) -> None:
    import sentencepiece as spm

    try:
        spm.SentencePieceTrainer.train(
            input=str(text_file),
            model_prefix=str(prefix),
            vocab_size=vocab_size,
            model_type=str(data.get("spm_model_type", "unigram")),
            character_coverage=float(data.get("spm_character_coverage", 1.0)),
            input_sentence_size=int(data.get("spm_sentences", 1_000_000)),
            shuffle_input_sentence=True,
            pad_id=PAD,
            unk_id=UNK,
            bos_id=BOS,
            eos_id=EOS,
            num_threads=max(1, min(4, os.cpu_count() or 1)),
            minloglevel=2,
        )
    except RuntimeError as exc:
        raise ConfigError(
            f"SentencePiece could not train a {vocab_size}-token vocabulary ({exc}); "
            "lower task.vocab_size or add training data"
        ) from None


def _build(task_cfg: dict[str, Any], dest: Path) -> None:
    """Load, train SentencePiece, encode, and move the finished folder into place."""
    import sentencepiece as spm

    pairs = load_pairs(task_cfg)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=dest.parent))
    try:
        text = work / "train.txt"
        with open(text, "w", encoding="utf-8") as handle:
            for src, tgt in pairs["train"]:
                handle.write(src + "\n" + tgt + "\n")
        _train_spm(text, work / "spm", int(task_cfg["vocab_size"]), task_cfg["data"])
        text.unlink()
        sp = spm.SentencePieceProcessor(model_file=str(work / "spm.model"))
        payload = {}
        for split in SPLITS:
            src_ids = sp.encode([s for s, _ in pairs[split]])
            tgt_ids = sp.encode([t for _, t in pairs[split]])
            payload[split] = list(zip(src_ids, tgt_ids, strict=True))
        torch.save(payload, work / "ids.pt")
        raw = {
            split: {"src": [s for s, _ in pairs[split]], "tgt": [t for _, t in pairs[split]]}
            for split in SPLITS
        }
        (work / "text.json").write_text(json.dumps(raw), encoding="utf-8")
        (work / "task.json").write_text(json.dumps(task_cfg, default=str), encoding="utf-8")
        try:
            os.replace(work, dest)
        except OSError:  # another process finished first; its copy is identical
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def corpus_dir(task_cfg: Mapping[str, Any] | DictConfig) -> Path:
    plain = _plain(task_cfg)
    return cache_dir() / "data" / str(plain["name"]) / fingerprint(plain)


def prepare_corpus(task_cfg: Mapping[str, Any] | DictConfig) -> Path:
    """Build the cached corpus if it is missing; returns its folder."""
    plain = _plain(task_cfg)
    dest = corpus_dir(plain)
    if not (dest / "ids.pt").is_file():
        log.info("building corpus %s into %s", plain["name"], dest)
        _build(plain, dest)
    return dest


def load_corpus(task_cfg: Mapping[str, Any] | DictConfig) -> Corpus:
    """The cached corpus of a task (built on first use)."""
    root = prepare_corpus(task_cfg)
    try:
        ids = torch.load(root / "ids.pt")
        raw = json.loads((root / "text.json").read_text(encoding="utf-8"))
    except (OSError, RuntimeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(
            f"corpus cache {root} is unreadable ({exc}); delete it to rebuild"
        ) from None
    return Corpus(
        root=root,
        ids=ids,
        references={s: raw[s]["tgt"] for s in SPLITS},
        sources={s: raw[s]["src"] for s in SPLITS},
        vocab_size=int(_plain(task_cfg)["vocab_size"]),
    )
