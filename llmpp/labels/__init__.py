"""Teacher labels for LLM-Distill-PP: the ``labels.jsonl`` format, the pools labelled,
the demonstrations a teacher learns from, and any predictor as a teacher.

``format`` reads and writes label rows, ``pools`` chooses the architectures,
``demonstrations`` loads a seed's gold training split, ``teacher`` labels a pool with
any :class:`~llmpp.predictors.base.Predictor` (``llmpp label`` does it for LLM-PP).
"""
