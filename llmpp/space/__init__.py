"""Search space and architecture types."""

from llmpp.space.architecture import HAT_KEYS, Architecture
from llmpp.space.search_space import SearchSpace

__all__ = ["HAT_KEYS", "Architecture", "SearchSpace"]
