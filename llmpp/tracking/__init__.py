"""How a run reports itself: experiment loggers, a stage's W&B run, run names, progress lines."""
