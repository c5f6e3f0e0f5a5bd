"""Small corpora and a reference encoder shared by the data tests."""

from __future__ import annotations

from llmpp.task import load_task_config


def tiny_task(train: int = 300, valid: int = 20, test: int = 20, vocab: int = 200):
    """The synthetic task shrunk to a corpus that builds in about a second."""
    cfg = load_task_config("synthetic_en_de")
    cfg.vocab_size = vocab
    cfg.data.sizes = {"train": train, "valid": valid, "test": test}
    return cfg


def greedy_batches(costs: list[int], max_tokens: int) -> list[list[int]]:
    """The batching rule written the plain way: walk pairs by cost, cut before overflow."""
    order = sorted(range(len(costs)), key=lambda i: (costs[i], i))
    batches, current, longest = [], [], 0
    for i in order:
        if current and max(longest, costs[i]) * (len(current) + 1) > max_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, costs[i])
    if current:
        batches.append(current)
    return batches
