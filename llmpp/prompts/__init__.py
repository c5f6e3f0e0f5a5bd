"""Prompts for LLM-PP: llmpp's own template, its ablations, and the authors' templates."""

from llmpp.prompts.builder import DemoItem, PromptBuilder, format_arch, format_demo

__all__ = ["DemoItem", "PromptBuilder", "format_arch", "format_demo"]
