"""Hardware targets: measured latency of standalone models and its predictors."""
