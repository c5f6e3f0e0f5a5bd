"""Validation loss and BLEU of a model (a standalone one or a supernet with a subnet active)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from llmpp.models.decoding import translate
from llmpp.models.transformer import EncoderOut, Transformer
from llmpp.training.bleu import BleuScores, score_both
from llmpp.training.objective import label_smoothed_loss

# HAT's and the paper's decoding for retrained architectures (HAT's test.sh).
HAT_BEAM = 4
HAT_LENGTH_PENALTY = 0.6
# HAT's test.sh leaves fairseq's length limit at its defaults: at most 0 x source + 200
# tokens. llmpp's option (the library default): 1.2 x source + 10.
HAT_MAX_LEN_A = 0.0
HAT_MAX_LEN_B = 200


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def loss_sums(
    model: Transformer,
    batches: Iterable[dict[str, torch.Tensor]],
    encoded: Sequence[EncoderOut] | None = None,
    label_smoothing: float = 0.0,
) -> tuple[float, int]:
    """``(summed token cross entropy in nats, target tokens)`` over ``batches``; eval mode.

    With ``label_smoothing`` > 0 the sum is of the label-smoothed loss instead (the
    criterion HAT's search ranks sub-networks by). ``encoded``: the encoder's outputs for
    these batches, computed earlier by a model whose encoder is the same
    (``SuperTransformer.encoder_key``), so only the decoder runs.
    """
    was_training = model.training
    model.eval()
    device = _device_of(model)
    nll_sum, tokens = 0.0, 0
    try:
        outputs = iter(encoded) if encoded is not None else None
        for batch in batches:  # a DataLoader streams: its batches are never all held
            enc = next(outputs) if outputs is not None else model.encode(batch["src"].to(device))
            logits = model.decode(batch["tgt_in"].to(device), enc)
            smoothed, nll, n = label_smoothed_loss(
                logits, batch["tgt_out"].to(device), label_smoothing
            )
            nll_sum += float(smoothed if label_smoothing else nll)
            tokens += n
    finally:
        model.train(was_training)
    return nll_sum, tokens


@torch.no_grad()
def encode_batches(
    model: Transformer, batches: Sequence[dict[str, torch.Tensor]]
) -> list[EncoderOut]:
    """The active encoder's outputs for ``batches`` (eval mode), for ``loss_sums``."""
    was_training = model.training
    model.eval()
    device = _device_of(model)
    try:
        return [model.encode(batch["src"].to(device)) for batch in batches]
    finally:
        model.train(was_training)


def evaluate_loss(model: Transformer, batches: Iterable[dict[str, torch.Tensor]]) -> float:
    """Mean per-token cross entropy (nats, no smoothing) over ``batches``; eval mode."""
    nll_sum, tokens = loss_sums(model, batches)
    return nll_sum / max(tokens, 1)


@dataclass(frozen=True)
class BleuResult:
    """Corpus BLEU of one split: both scores (``scores``) and the hypotheses they scored.

    ``score``/``signature`` are sacreBLEU's (on detokenized text), kept for callers
    that want one number; ``scores.bleu_tokenized_compound`` is what HAT and the
    paper report.
    """

    score: float
    signature: str
    hypotheses: list[str]
    scores: BleuScores | None = None


@torch.no_grad()
def evaluate_bleu(
    model: Transformer,
    batches: Iterable[tuple[torch.Tensor, Sequence[int]]],
    references: Sequence[str],
    tokenizer,
    *,
    beam: int = 1,
    length_penalty: float = 1.0,
    tokenized: bool = True,
    detokenizer: str = "rules",
    lang: str = "en",
    max_len_a: float = 1.2,
    max_len_b: int = 10,
) -> BleuResult:
    """Translate every batch ``(src, row indices)`` and score against ``references``.

    Hypotheses are decoded with the SentencePiece model into the corpus's own text
    form; ``tokenized`` says whether that form is space-tokenized (the synthetic
    corpus) so that sacreBLEU gets detokenized text and the HAT-style score gets
    tokens (``llmpp.training.bleu``; raw text is Moses-tokenized in ``lang``).
    Hypotheses are at most ``max_len_a`` x source length + ``max_len_b`` tokens.
    """
    was_training = model.training
    model.eval()
    device = _device_of(model)
    hypotheses: list[str | None] = [None] * len(references)
    try:
        for src, rows in batches:
            extra = {"max_len_a": max_len_a, "max_len_b": int(max_len_b)}
            if beam > 1:
                extra["length_penalty"] = length_penalty
            decoded = translate(model, src.to(device), beam=beam, **extra)
            for row, ids in zip(rows, decoded, strict=True):
                hypotheses[row] = tokenizer.decode(ids)
    finally:
        model.train(was_training)
    done = [h if h is not None else "" for h in hypotheses]
    scores = score_both(done, list(references), tokenized=tokenized, lang=lang,
                        detokenizer=detokenizer)
    return BleuResult(scores.sacrebleu, scores.sacrebleu_signature, done, scores)


def corpus_is_tokenized(task) -> bool:
    """Whether a task's text is space-tokenized rather than raw: the synthetic corpus, and
    fairseq-binarized corpora (Moses-tokenized text once the BPE markers are removed)."""
    return corpus_kind(task) in ("synthetic", "fairseq")


def corpus_kind(task) -> str:
    data = (task.get("data") if hasattr(task, "get") else None) or {}
    return str(data.get("kind", ""))


def target_language(task) -> str:
    """The task's target language code (Moses's rules for it); English if unrecorded."""
    value = task.get("target_lang") if hasattr(task, "get") else None
    return str(value or "en")


def bleu_on_split(
    model: Transformer,
    datamodule,
    split: str,
    *,
    limit: int | None = None,
    beam: int = 1,
    length_penalty: float = 1.0,
    max_len_a: float = 1.2,
    max_len_b: int = 10,
) -> BleuResult:
    """BLEU of ``model`` on the first ``limit`` pairs of a split of a ``TranslationDataModule``.

    HAT's protocol for retrained architectures is ``beam=HAT_BEAM,
    length_penalty=HAT_LENGTH_PENALTY, max_len_a=HAT_MAX_LEN_A, max_len_b=HAT_MAX_LEN_B``;
    the result carries both BLEU scores.
    """
    n = len(datamodule.split(split))
    n = min(n, limit) if limit else n
    references = datamodule.references(split)[:n]
    batches = datamodule.source_batches(split, limit=n)
    return evaluate_bleu(
        model,
        batches,
        references,
        datamodule.corpus.tokenizer(),
        beam=beam,
        length_penalty=length_penalty,
        tokenized=corpus_is_tokenized(datamodule.task),
        detokenizer="moses" if corpus_kind(datamodule.task) == "fairseq" else "rules",
        lang=target_language(datamodule.task),
        max_len_a=max_len_a,
        max_len_b=max_len_b,
    )
