"""Analytic efficiency metrics of architectures."""

from llmpp.metrics.efficiency import Efficiency, efficiency

__all__ = ["Efficiency", "efficiency"]
