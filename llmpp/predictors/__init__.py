"""Performance predictors; the import path of each class is its registry entry."""

from llmpp.predictors.base import Demonstration, Predictor, TaskContext

__all__ = ["Demonstration", "Predictor", "TaskContext"]
