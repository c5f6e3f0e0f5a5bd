"""Translation data: the synthetic corpus, WMT loaders, SentencePiece, batching."""

from llmpp.data.corpus import BOS, EOS, PAD, Corpus, load_corpus, prepare_corpus
from llmpp.data.datamodule import TranslationDataModule

__all__ = ["BOS", "EOS", "PAD", "Corpus", "TranslationDataModule", "load_corpus", "prepare_corpus"]
