"""Validation loss and BLEU of a model (a standalone one or a supernet with a subnet active)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from llmpp.models.decoding import translate
from llmpp.models.transformer import Transformer
from llmpp.training.objective import label_smoothed_loss


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def evaluate_loss(model: Transformer, batches: Iterable[dict[str, torch.Tensor]]) -> float:
    """Mean per-token cross entropy (nats, no smoothing) over ``batches``; eval mode."""
    was_training = model.training
    model.eval()
    device = _device_of(model)
    nll_sum, tokens = 0.0, 0
    try:
        for batch in batches:
            logits = model(batch["src"].to(device), batch["tgt_in"].to(device))
            _, nll, n = label_smoothed_loss(logits, batch["tgt_out"].to(device), 0.0)
            nll_sum += float(nll)
            tokens += n
    finally:
        model.train(was_training)
    return nll_sum / max(tokens, 1)


@dataclass(frozen=True)
class BleuResult:
    """Corpus BLEU with sacrebleu's signature and the hypotheses it scored."""

    score: float
    signature: str
    hypotheses: list[str]


@torch.no_grad()
def evaluate_bleu(
    model: Transformer,
    batches: Iterable[tuple[torch.Tensor, Sequence[int]]],
    references: Sequence[str],
    tokenizer,
    *,
    beam: int = 1,
) -> BleuResult:
    """Translate every batch ``(src, row indices)`` and score against ``references``.

    Hypotheses are detokenised with the SentencePiece model before sacrebleu's own
    13a tokenisation, so the score is comparable across vocabularies.
    """
    import sacrebleu

    was_training = model.training
    model.eval()
    device = _device_of(model)
    hypotheses: list[str | None] = [None] * len(references)
    try:
        for src, rows in batches:
            for row, ids in zip(rows, translate(model, src.to(device), beam=beam), strict=True):
                hypotheses[row] = tokenizer.decode(ids)
    finally:
        model.train(was_training)
    done = [h if h is not None else "" for h in hypotheses]
    bleu = sacrebleu.metrics.BLEU()
    score = bleu.corpus_score(done, [list(references)])
    return BleuResult(float(score.score), str(bleu.get_signature()), done)


def bleu_on_split(
    model: Transformer, datamodule, split: str, *, limit: int | None = None, beam: int = 1
) -> BleuResult:
    """BLEU of ``model`` on the first ``limit`` pairs of a split of a ``TranslationDataModule``."""
    n = len(datamodule.split(split))
    n = min(n, limit) if limit else n
    references = datamodule.references(split)[:n]
    batches = datamodule.source_batches(split, limit=n)
    return evaluate_bleu(model, batches, references, datamodule.corpus.tokenizer(), beam=beam)
