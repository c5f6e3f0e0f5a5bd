"""Fairseq-binarized corpora (HAT's preprocessed WMT downloads) read in place.

``fairseq-preprocess`` writes, per split and language, ``<split>.<src>-<tgt>.<lang>.bin``
(every sentence's token ids back to back) and ``.idx`` (fairseq's ``MMapIndexedDataset``
index), plus ``dict.<lang>.txt`` (one ``<word> <count>`` line per symbol after the four
specials). The index is, little-endian:

* the magic ``MMIDIDX\\x00\\x00``, a version (uint64, 1) and a dtype code (uint8:
  1 uint8, 2 int8, 3 int16, 4 int32, 5 int64, 6 float64, 7 float64, 8 uint16);
* the number of sentences ``n`` and of documents ``d`` (uint64 each);
* ``sizes`` (int32 x n: tokens per sentence, its end-of-sentence included),
  ``pointers`` (int64 x n: byte offsets into ``.bin``) and the document index
  (int64 x d, unused here).

``FairseqSplit`` maps both files with ``numpy.memmap`` and has ``BinarizedSplit``'s
interface, so llmpp's token-count batching, collation and DDP sharding run unchanged.
Two conventions are translated at read time: fairseq's specials (``<s>`` 0, ``<pad>`` 1,
``</s>`` 2, ``<unk>`` 3) become llmpp's (PAD 0, UNK 1, BOS 2, EOS 3; every other id is
the same), and each sentence's stored end-of-sentence is dropped (llmpp's collation
appends its own). ``FairseqDictionary.decode`` joins the symbols and removes the BPE
continuation marker ``@@ `` as fairseq's ``--remove-bpe`` does, which gives the
Moses-tokenized text HAT scores.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from llmpp.data.binarized import PackedPairs
from llmpp.data.build import BOS, EOS, PAD, UNK
from llmpp.errors import ConfigError, CorruptFileError, DataNotFoundError

MAGIC = b"MMIDIDX\x00\x00"
DTYPES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float64,
          7: np.float64, 8: np.uint16}
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")  # fairseq's ids 0..3
FAIRSEQ_EOS = 2
BPE_MARKER = "@@ "
SPLITS = {"train": "train", "valid": "valid", "test": "test"}
# fairseq id -> llmpp id for the four specials; every other id maps to itself.
_TO_LLMPP = np.asarray([BOS, PAD, EOS, UNK], dtype=np.int64)
_TO_FAIRSEQ = {int(v): k for k, v in enumerate(_TO_LLMPP)}


def read_index(path: Path) -> tuple[np.dtype, np.ndarray, np.ndarray]:
    """``(token dtype, sizes, pointers)`` of a fairseq ``MMapIndexedDataset`` index."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(MAGIC) + 8 + 1 + 8 + 8)
    except FileNotFoundError:
        raise DataNotFoundError(f"{path} does not exist; point task.data.data_dir at a "
                                "fairseq-preprocess output folder") from None
    if len(head) < len(MAGIC) + 25 or not head.startswith(MAGIC):
        raise CorruptFileError(f"{path} is not a fairseq MMapIndexedDataset index (bad header)")
    offset = len(MAGIC)
    (version,) = struct.unpack_from("<Q", head, offset)
    (code,) = struct.unpack_from("<B", head, offset + 8)
    n, _documents = struct.unpack_from("<QQ", head, offset + 9)
    if version != 1 or code not in DTYPES:
        raise CorruptFileError(f"{path}: unsupported index version {version} or dtype {code}")
    start = offset + 9 + 16
    sizes = np.memmap(path, dtype=np.int32, mode="r", offset=start, shape=(n,)) if n else (
        np.zeros(0, np.int32))
    pointers = np.memmap(path, dtype=np.int64, mode="r", offset=start + 4 * n, shape=(n,)) if n \
        else np.zeros(0, np.int64)
    return np.dtype(DTYPES[code]), sizes, pointers


def _to_llmpp(ids: np.ndarray) -> np.ndarray:
    out = np.asarray(ids, dtype=np.int64)
    special = out < len(_TO_LLMPP)
    if special.any():
        out = out.copy()
        out[special] = _TO_LLMPP[out[special]]
    return out


class FairseqSplit:
    """One split of a fairseq-binarized corpus with ``BinarizedSplit``'s interface.

    Args:
        root: the fairseq-preprocess output folder.
        split: ``train``, ``valid`` or ``test``.
        langs: (source, target) language codes.
        pair: the pair as the file names write it (HAT's En-De files say ``en-de``
            whichever the direction); default ``langs``.
        limit: expose only the first ``limit`` pairs (None = all).
    """

    def __init__(self, root: Path, split: str, langs: tuple[str, str],
                 pair: tuple[str, str] | None = None, limit: int | None = None) -> None:
        self.root, self.split, self.langs, self.limit = Path(root), split, tuple(langs), limit
        self.pair = tuple(pair or langs)
        self._maps: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    def _stem(self, lang: str) -> str:
        return str(self.root / f"{SPLITS[self.split]}.{self.pair[0]}-{self.pair[1]}.{lang}")

    def _open(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        if self._maps is None:
            maps = {}
            for side, lang in zip(("src", "tgt"), self.langs, strict=True):
                dtype, sizes, pointers = read_index(Path(self._stem(lang) + ".idx"))
                bin_path = Path(self._stem(lang) + ".bin")
                if not bin_path.is_file():
                    raise DataNotFoundError(f"{bin_path} does not exist beside its .idx")
                tokens = (np.memmap(bin_path, dtype=dtype, mode="r")
                          if bin_path.stat().st_size else np.zeros(0, dtype))
                # Token offsets of each sentence; the stored end-of-sentence is dropped.
                starts = np.asarray(pointers, dtype=np.int64) // dtype.itemsize
                maps[side] = (tokens, starts, np.asarray(sizes, dtype=np.int64) - 1)
            if len(maps["src"][1]) != len(maps["tgt"][1]):
                raise CorruptFileError(f"{self.root}: {self.split} has different sentence counts "
                                       "for source and target")
            self._maps = maps
        return self._maps

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_maps": None}

    def __len__(self) -> int:
        total = len(self._open()["src"][1])
        return total if self.limit is None else min(total, int(self.limit))

    def head(self, limit: int | None) -> FairseqSplit:
        return FairseqSplit(self.root, self.split, self.langs, self.pair, limit)

    def lengths(self, side: str) -> np.ndarray:
        return np.asarray(self._open()[side][2][: len(self)], dtype=np.int64)

    def costs(self) -> np.ndarray:
        """Padded cost of each pair: the longer side plus its EOS/BOS (int32)."""
        src, tgt = self.lengths("src"), self.lengths("tgt")
        return (np.maximum(src, tgt) + 1).astype(np.int32)

    def side(self, side: str, i: int) -> np.ndarray:
        tokens, starts, lengths = self._open()[side]
        return _to_llmpp(tokens[starts[i]: starts[i] + lengths[i]])

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self.side("src", i), self.side("tgt", i)

    def __getitems__(self, indices: Sequence[int]) -> PackedPairs:
        """A batch packed flat with one vectorised gather per side (as ``BinarizedSplit``)."""
        rows = np.asarray(indices, dtype=np.int64)
        sides = []
        for side in ("src", "tgt"):
            tokens, starts, all_lengths = self._open()[side]
            begin, lengths = starts[rows], all_lengths[rows]
            first = np.cumsum(lengths) - lengths
            positions = np.repeat(begin - first, lengths) + np.arange(int(lengths.sum()))
            sides += [_to_llmpp(tokens[positions]), lengths]
        return PackedPairs(*sides)


class FairseqDictionary:
    """fairseq's ``dict.<lang>.txt`` as a decoder of llmpp ids (the specials first)."""

    def __init__(self, path: Path) -> None:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise DataNotFoundError(f"{path} does not exist; a fairseq-preprocess folder has "
                                    "dict.<lang>.txt for each language") from None
        words = [line.rsplit(" ", 1)[0] if " " in line else line for line in lines if line]
        words = [w[: -len(" #fairseq:overwrite")] if w.endswith(" #fairseq:overwrite") else w
                 for w in words]
        self.symbols = [*SPECIALS, *words]

    def __len__(self) -> int:
        return len(self.symbols)

    def decode(self, ids: Sequence[int]) -> str:
        """Text of llmpp ids: specials skipped, BPE markers removed (fairseq's --remove-bpe)."""
        pieces = []
        for i in ids:
            i = int(i)
            fairseq_id = _TO_FAIRSEQ.get(i, i)
            if fairseq_id < len(SPECIALS) and fairseq_id != 3:
                continue
            pieces.append(self.symbols[fairseq_id] if fairseq_id < len(self.symbols) else "<unk>")
        return remove_bpe(" ".join(pieces))


def remove_bpe(text: str) -> str:
    """fairseq's ``--remove-bpe`` (``@@ ``): join the pieces of a word."""
    return (text + " ").replace(BPE_MARKER, "").rstrip()


@dataclass
class FairseqCorpus:
    """A fairseq-preprocess folder with ``Corpus``'s interface (splits, references, tokenizer)."""

    root: Path
    langs: tuple[str, str]
    pair: tuple[str, str]
    dictionary: FairseqDictionary
    _refs: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, task: Any) -> FairseqCorpus:
        data = task["data"]
        if not data.get("data_dir"):
            raise ConfigError("task.data.kind=fairseq needs task.data.data_dir=<fairseq-preprocess "
                              "folder with dict.<lang>.txt and <split>.<src>-<tgt>.<lang>.bin/idx>")
        root = Path(str(data["data_dir"])).expanduser()
        langs = (str(task["source_lang"]), str(task["target_lang"]))
        pair = next((p for p in (langs, langs[::-1])
                     if any(root.glob(f"train.{p[0]}-{p[1]}.*.idx"))), None)
        if pair is None:
            raise DataNotFoundError(f"{root} has no train.{langs[0]}-{langs[1]}.<lang>.idx; "
                                    "point task.data.data_dir at a fairseq-preprocess folder")
        source, target = (FairseqDictionary(root / f"dict.{lang}.txt") for lang in langs)
        if source.symbols != target.symbols:
            raise ConfigError(f"{root}: dict.{langs[0]}.txt and dict.{langs[1]}.txt differ; "
                              "llmpp ties one embedding table (use --joined-dictionary)")
        vocab = int(task["vocab_size"])
        if vocab != len(target):
            raise ConfigError(f"task.vocab_size={vocab} but {root}'s dictionary has "
                              f"{len(target)} symbols; pass task.vocab_size={len(target)}")
        return cls(root, langs, pair, target)

    def split(self, name: str, limit: int | None = None) -> FairseqSplit:
        return FairseqSplit(self.root, name, self.langs, self.pair, limit)

    def references(self, name: str) -> list[str]:
        """Target sentences of a split, decoded as fairseq's ``T`` lines (BPE removed)."""
        if name not in self._refs:
            split = self.split(name)
            self._refs[name] = [self.dictionary.decode(split.side("tgt", i))
                                for i in range(len(split))]
        return self._refs[name]

    def sources(self, name: str) -> list[str]:
        split = self.split(name)
        return [self.dictionary.decode(split.side("src", i)) for i in range(len(split))]

    def tokenizer(self) -> FairseqDictionary:
        return self.dictionary

    def decode(self, ids) -> str:
        return self.dictionary.decode(ids)
