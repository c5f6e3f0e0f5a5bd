"""HAT's BLEU protocol: tokenized BLEU with compound splitting next to sacreBLEU."""

from __future__ import annotations

import logging
import math

import pytest
import torch
from omegaconf import OmegaConf

from llmpp.data.corpus import EOS
from llmpp.data.datamodule import TranslationDataModule
from llmpp.data.synthetic import generate_pairs
from llmpp.models.decoding import translate
from llmpp.models.transformer import ModelShape, Transformer
from llmpp.task import load_task_config
from llmpp.training.bleu import (
    detokenize,
    sacrebleu_detokenized,
    score_both,
    split_compounds,
    tokenized_compound_bleu,
)
from llmpp.training.evaluation import (
    HAT_BEAM,
    HAT_LENGTH_PENALTY,
    HAT_MAX_LEN_A,
    HAT_MAX_LEN_B,
    bleu_on_split,
)


def test_compound_splitting_is_hats():
    assert split_compounds("ein schul-bus .") == "ein schul ##AT##-##AT## bus ."
    # perl's s///g is non-overlapping: "a-b-c" keeps its second hyphen, as in HAT.
    assert split_compounds("a-b-c") == "a ##AT##-##AT## b-c"
    assert split_compounds("state-of-the-art - x") == (
        "state ##AT##-##AT## of ##AT##-##AT## the ##AT##-##AT## art - x"
    )


def test_detokenize_attaches_punctuation():
    assert detokenize("der hund , der schlaeft .") == "der hund, der schlaeft."
    assert detokenize("( ja ) !") == "(ja)!"


def test_tokenized_bleu_is_plain_corpus_bleu_over_split_tokens():
    # One 6-token sentence vs its reference with one wrong token:
    # p1=5/6 p2=3/5 p3=1/4 p4=0/3 -> BLEU 0 without smoothing (multi-bleu / fairseq).
    assert tokenized_compound_bleu(["a b c d e f"], ["a b c x e f"]) == 0.0
    hyp, ref = "der gute schul-bus faehrt nach hause .", "der gute schul-bus faehrt heim ."
    # After splitting, the compound contributes 3 matching tokens and their n-grams.
    expected = _bleu(split_compounds(hyp).split(), split_compounds(ref).split())
    assert tokenized_compound_bleu([hyp], [ref]) == pytest.approx(expected, abs=1e-9)
    unsplit = _bleu(hyp.split(), ref.split())
    assert tokenized_compound_bleu([hyp], [ref]) != pytest.approx(unsplit)


def _bleu(hyp: list[str], ref: list[str]) -> float:
    """Reference implementation: clipped n-gram precisions, brevity penalty, no smoothing."""
    logs = []
    for n in range(1, 5):
        grams = [tuple(hyp[i : i + n]) for i in range(len(hyp) - n + 1)]
        refs = [tuple(ref[i : i + n]) for i in range(len(ref) - n + 1)]
        match = sum(min(grams.count(g), refs.count(g)) for g in set(grams))
        if match == 0:
            return 0.0
        logs.append(math.log(match / len(grams)))
    bp = min(1.0, math.exp(1 - len(ref) / len(hyp)))
    return 100 * bp * math.exp(sum(logs) / 4)


def test_sacrebleu_on_detokenized_text_does_not_warn(caplog):
    pairs = list(generate_pairs(120, seed=5))
    targets = [t for _, t in pairs]
    assert sum(t.endswith(" .") for t in targets) >= 100  # the corpus is tokenized
    with caplog.at_level(logging.WARNING):
        score, signature = sacrebleu_detokenized(targets, targets)
    assert score == pytest.approx(100.0) and signature.startswith("nrefs:1")
    assert "detokenize" not in caplog.text
    # Without detokenizing, sacreBLEU itself raises the warning (the test can fail).
    with caplog.at_level(logging.WARNING):
        sacrebleu_detokenized(targets, targets, tokenized=False)
    assert "detokenize" in caplog.text


def test_score_both_names_each_score():
    scores = score_both(["ein schul-bus ."], ["ein schul-bus ."]).as_dict()
    assert set(scores) == {
        "bleu_tokenized_compound",
        "bleu_tokenized_compound_tokenizer",
        "sacrebleu",
        "sacrebleu_signature",
    }
    assert scores["bleu_tokenized_compound_tokenizer"] == "none"
    assert score_both(["a b"], ["a b"], tokenized=False).tokenized_compound_tokenizer == "moses"


def test_raw_text_is_moses_tokenized_before_compound_splitting():
    """HAT's data is Moses-tokenized (hyphens kept in words), then compounds are split."""
    from sacremoses import MosesTokenizer

    hyp = '"Gibt\'s den Schul-Bus noch?", fragte er.'
    ref = '"Gibt es den Schul-Bus noch?", fragte er.'
    moses = MosesTokenizer(lang="de")
    expected = _bleu(*(split_compounds(moses.tokenize(t, return_str=True, escape=False)).split()
                       for t in (hyp, ref)))
    scores = score_both([hyp], [ref], tokenized=False, lang="de")
    assert scores.tokenized_compound_tokenizer == "moses"
    assert scores.bleu_tokenized_compound == pytest.approx(expected, abs=1e-9)
    # sacreBLEU's 13a (llmpp's earlier stand-in) keeps "Gibt's" whole: another number.
    assert tokenized_compound_bleu([hyp], [ref], tokenize="13a") != pytest.approx(expected)


class _NeverEnds(Transformer):
    """A model that never predicts end-of-sentence: decoding runs to its length limit."""

    def decode(self, *args, **kwargs):
        logits = super().decode(*args, **kwargs)
        logits[..., EOS] = float("-inf")
        return logits


@pytest.mark.parametrize("beam", [1, 4])
def test_decoding_stops_at_hats_length_limit(mini_space, beam):
    arch = mini_space.smallest()
    torch.manual_seed(0)
    model = _NeverEnds(ModelShape.of(arch, 30, mini_space.qkv_dim), arch).eval()
    for src_len in (3, 12):
        src = torch.randint(4, 30, (2, src_len))
        hat = translate(model, src, beam=beam, max_len_a=HAT_MAX_LEN_A, max_len_b=HAT_MAX_LEN_B)
        ours = translate(model, src, beam=beam)  # llmpp's option: 1.2 x source + 10
        assert [len(h) for h in hat] == [200, 200]
        assert [len(h) for h in ours] == [int(1.2 * src_len + 10)] * 2


def test_retrain_evaluation_reports_both_scores(mini_space):
    task = OmegaConf.to_container(load_task_config("synthetic_en_de"), resolve=True)
    task["vocab_size"] = 200
    task["data"]["sizes"] = {"train": 300, "valid": 16, "test": 16}
    datamodule = TranslationDataModule(task, max_tokens=512)
    datamodule.prepare_data()
    datamodule.setup()
    arch = mini_space.smallest()
    torch.manual_seed(0)
    model = Transformer(ModelShape.of(arch, 200, mini_space.qkv_dim), arch).eval()
    result = bleu_on_split(
        model, datamodule, "valid", limit=6, beam=HAT_BEAM, length_penalty=HAT_LENGTH_PENALTY
    )
    assert (HAT_BEAM, HAT_LENGTH_PENALTY) == (4, 0.6)
    assert len(result.hypotheses) == 6 and result.scores is not None
    both = result.scores.as_dict()
    assert both["bleu_tokenized_compound_tokenizer"] == "none"  # synthetic text is tokenized
    assert both["sacrebleu"] == result.score and result.signature == both["sacrebleu_signature"]
    assert 0.0 <= both["bleu_tokenized_compound"] <= 100.0
    # Scoring the references as hypotheses reaches 100 on both scales.
    refs = datamodule.references("valid")[:6]
    perfect = score_both(refs, refs)
    assert perfect.bleu_tokenized_compound == pytest.approx(100.0)
    assert perfect.sacrebleu == pytest.approx(100.0)
