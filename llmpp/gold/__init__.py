"""The authors' gold data: download, verification and records."""

from llmpp.gold.records import GoldRecord, load_gold_split, load_pool
from llmpp.gold.source import GoldSource

__all__ = ["GoldRecord", "GoldSource", "load_gold_split", "load_pool"]
