"""Translation data: sources, streaming binarization, memory-mapped corpora, token batching.

Names are imported lazily: the corpus builder's worker processes import
``llmpp.data.build`` and must not pay for importing Lightning through the datamodule.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BOS": "llmpp.data.build",
    "EOS": "llmpp.data.build",
    "PAD": "llmpp.data.build",
    "Corpus": "llmpp.data.corpus",
    "load_corpus": "llmpp.data.corpus",
    "prepare_corpus": "llmpp.data.corpus",
    "TranslationDataModule": "llmpp.data.datamodule",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'llmpp.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
