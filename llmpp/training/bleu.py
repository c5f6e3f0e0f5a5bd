"""The two BLEU scores a retrained architecture reports, named so they cannot be confused.

* ``bleu_tokenized_compound`` — what HAT and the paper report: corpus BLEU (4-gram,
  no smoothing, case-sensitive) over whitespace tokens of *tokenized* text, after
  splitting hyphenated compounds the way HAT's ``test.sh`` does
  (``a-b`` -> ``a ##AT##-##AT## b``, the fairseq/tensor2tensor convention for
  WMT En-De). HAT scores Moses-tokenized text with fairseq's scorer; llmpp scores
  text that is already tokenized as it is (``tokenize="none"``: the synthetic corpus,
  fairseq-binarized corpora after BPE removal) and Moses-tokenizes raw text first
  (``tokenize="moses"``, sacremoses with the target language's rules, as the Moses
  ``tokenizer.perl`` that made HAT's data) — the result says which. ``13a``
  (sacreBLEU's tokenizer) is kept for callers that want llmpp's earlier stand-in.
* ``sacrebleu`` — sacreBLEU's default BLEU on *detokenized* text, with its
  signature: the number that is comparable across papers and vocabularies.

Both come from the same hypotheses and references; only the text processing differs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# HAT's test.sh: perl -ple 's{(\S)-(\S)}{$1 ##AT##-##AT## $2}g' (non-overlapping, left to right).
_COMPOUND = re.compile(r"(\S)-(\S)")
# Detokenizing space-tokenized text: no space before closing punctuation, none after openers.
_BEFORE_CLOSING = re.compile(r"\s+([.,!?;:%)\]}])")
_AFTER_OPENING = re.compile(r"([(\[{])\s+")
TOKENIZERS = ("none", "13a", "moses")


def split_compounds(text: str) -> str:
    """``a-b`` -> ``a ##AT##-##AT## b``, as HAT splits compounds before scoring."""
    return _COMPOUND.sub(r"\1 ##AT##-##AT## \2", text)


def detokenize(text: str) -> str:
    """Undo space tokenization of punctuation (``der hund .`` -> ``der hund.``).

    A small rule set for the punctuation the corpora here produce; it exists so that
    sacreBLEU sees running text, as its own 13a tokenization expects.
    """
    text = _BEFORE_CLOSING.sub(r"\1", text.strip())
    return _AFTER_OPENING.sub(r"\1", text)


@dataclass(frozen=True)
class BleuScores:
    """Both BLEU numbers of one set of hypotheses (see the module docstring)."""

    bleu_tokenized_compound: float
    tokenized_compound_tokenizer: str
    sacrebleu: float
    sacrebleu_signature: str

    def as_dict(self) -> dict[str, float | str]:
        """The keys that go into ``retrain.json``."""
        return {
            "bleu_tokenized_compound": self.bleu_tokenized_compound,
            "bleu_tokenized_compound_tokenizer": self.tokenized_compound_tokenizer,
            "sacrebleu": self.sacrebleu,
            "sacrebleu_signature": self.sacrebleu_signature,
        }


def _tokenizer(tokenize: str, lang: str) -> Callable[[str], str] | None:
    if tokenize not in TOKENIZERS:
        raise ValueError(f"tokenize={tokenize!r}; use one of {TOKENIZERS}")
    if tokenize == "13a":
        from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

        return Tokenizer13a()
    if tokenize == "moses":
        from sacremoses import MosesTokenizer

        moses = MosesTokenizer(lang=lang)
        # No HTML escaping: it maps one token to one token, so BLEU is the same either way.
        return lambda line: moses.tokenize(line, return_str=True, escape=False)
    return None


def tokenized_compound_bleu(
    hypotheses: Sequence[str],
    references: Sequence[str],
    *,
    tokenize: str = "none",
    lang: str = "en",
) -> float:
    """HAT's reported BLEU: compound-split, whitespace-token corpus BLEU (no smoothing).

    ``lang`` (the target language) picks Moses's rules for ``tokenize="moses"``.
    """
    import sacrebleu

    tokenizer = _tokenizer(tokenize, lang)

    def prepare(line: str) -> str:
        line = tokenizer(line.strip()) if tokenizer else line.strip()
        return " ".join(split_compounds(line).split())

    # force=True: the text is tokenized on purpose; sacreBLEU must not re-tokenize or warn.
    bleu = sacrebleu.metrics.BLEU(tokenize="none", smooth_method="none", force=True)
    hyps = [prepare(h) for h in hypotheses]
    refs = [prepare(r) for r in references]
    return float(bleu.corpus_score(hyps, [refs]).score)


def sacrebleu_detokenized(
    hypotheses: Sequence[str],
    references: Sequence[str],
    *,
    tokenized: bool = True,
    detokenizer: str = "rules",
    lang: str = "en",
) -> tuple[float, str]:
    """sacreBLEU's default corpus BLEU on running text (detokenized first if ``tokenized``).

    ``detokenizer``: ``rules`` (llmpp's small rule set, for the synthetic corpus) or
    ``moses`` (sacremoses, as HAT's test.sh detokenizes Moses-tokenized text).
    """
    import sacrebleu

    prepare = str.strip
    if tokenized and detokenizer == "moses":
        from sacremoses import MosesDetokenizer

        moses = MosesDetokenizer(lang=lang)
        prepare = lambda line: moses.detokenize(line.split())  # noqa: E731
    elif tokenized:
        prepare = detokenize
    bleu = sacrebleu.metrics.BLEU()
    score = bleu.corpus_score([prepare(h) for h in hypotheses], [[prepare(r) for r in references]])
    return float(score.score), str(bleu.get_signature())


def score_both(
    hypotheses: Sequence[str],
    references: Sequence[str],
    *,
    tokenized: bool = True,
    lang: str = "en",
    raw_tokenizer: str = "moses",
    detokenizer: str = "rules",
) -> BleuScores:
    """Both scores; ``tokenized`` says whether the text is already space-tokenized.

    Raw text is tokenized with ``raw_tokenizer`` (Moses, HAT's) in ``lang`` for the
    tokenized score.
    """
    tokenize = "none" if tokenized else raw_tokenizer
    sacre, signature = sacrebleu_detokenized(hypotheses, references, tokenized=tokenized,
                                             detokenizer=detokenizer, lang=lang)
    return BleuScores(
        bleu_tokenized_compound=tokenized_compound_bleu(
            hypotheses, references, tokenize=tokenize, lang=lang
        ),
        tokenized_compound_tokenizer=tokenize,
        sacrebleu=sacre,
        sacrebleu_signature=signature,
    )
