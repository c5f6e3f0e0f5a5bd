"""llmpp: LLM performance predictors and hardware-aware NAS for Transformer MT."""

__version__ = "0.1.0"
