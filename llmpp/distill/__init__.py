"""LLM-Distill-PP: a teacher's scores distilled into a small, fast regressor.

``labels`` reads and writes teacher labels (``labels.jsonl``), ``features`` turns
many architectures into feature rows at once, ``model`` is the LightningModule,
``train`` fits it with early stopping, ``checkpoint`` saves and loads the
self-describing artifact that ``predictor=llm_distill`` serves.
"""
