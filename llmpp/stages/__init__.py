"""One Hydra app per stage of the pipeline (``llmpp <stage> [overrides]``)."""
