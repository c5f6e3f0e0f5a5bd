"""LLM-Distill-PP: a teacher's scores distilled into a small, fast regressor.

``features`` turns many architectures into feature rows at once, ``model`` is the
LightningModule (HAT's MLP from ``llmpp.models.mlp``), ``train`` fits it with early
stopping, ``checkpoint`` saves and loads the self-describing artifact that
``predictor=llm_distill`` serves. The teacher's labels it learns from are
``llmpp.labels``.
"""
