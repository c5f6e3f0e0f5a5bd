"""The paper's predictor benchmark protocol and its metrics."""
