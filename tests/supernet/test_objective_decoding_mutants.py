"""The label-smoothed loss against PyTorch's own, and beam search's length penalty.

The loss is compared with ``torch.nn.functional.cross_entropy(label_smoothing=...)``
(the same formulation: ``1 - eps`` on the reference, ``eps`` spread uniformly over the
vocabulary) with padding in the targets. Beam search runs on a scripted decoder whose
two complete hypotheses — one token, or three — swap places at a length penalty of
0.8, so HAT's 0.6 and fairseq's default 1.0 must pick different translations.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from llmpp.data.corpus import BOS, EOS, PAD
from llmpp.models.decoding import beam_decode, translate
from llmpp.models.transformer import EncoderOut
from llmpp.training.objective import label_smoothed_loss


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_label_smoothed_loss_matches_pytorch(smoothing) -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 11, generator=gen) * 3
    target = torch.randint(4, 11, (3, 5), generator=gen)
    target[0, 3:] = PAD
    target[2, 1:] = PAD
    loss, nll, count = label_smoothed_loss(logits, target, smoothing)
    flat_logits, flat_target = logits.view(-1, 11), target.view(-1)
    want = F.cross_entropy(
        flat_logits, flat_target, ignore_index=PAD, reduction="sum", label_smoothing=smoothing
    )
    want_nll = F.cross_entropy(flat_logits, flat_target, ignore_index=PAD, reduction="sum")
    assert count == int(target.ne(PAD).sum()) == 9
    torch.testing.assert_close(loss, want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(nll, want_nll, rtol=1e-5, atol=1e-5)


# ---- beam search on a scripted decoder -------------------------------------------------
VOCAB = 6
OTHER = 5  # a token no scripted history asks for
P_SHORT = 0.648  # P(EOS first): the 1-token hypothesis (EOS alone) has log-prob log(0.648)
# The 3-token hypothesis [4, 4, EOS] has log-prob log(0.352); the two scores
# log(0.648) / 1**lp and log(0.352) / 3**lp are equal at lp = 0.80.


def scripted_logits(history: tuple[int, ...]) -> torch.Tensor:
    logits = torch.full((VOCAB,), -30.0)
    if history == ():
        logits[EOS], logits[4] = math.log(P_SHORT), math.log(1 - P_SHORT)
    elif history == (4,):
        logits[4] = 0.0
    elif history == (4, 4):
        logits[EOS] = 0.0
    else:  # anything else keeps going and never ends early
        logits[OTHER], logits[EOS] = 0.0, -40.0
    return logits


class ScriptedDecoder:
    """Duck-types what decoding needs from a ``Transformer``: encode, decode, the cache."""

    arch = SimpleNamespace(decoder_layer_num=1)

    def encode(self, src: torch.Tensor) -> EncoderOut:
        return EncoderOut([src.float().unsqueeze(-1)], src.eq(PAD))

    def decode(self, tokens, enc, cache, offset=0) -> torch.Tensor:
        past = cache[0].get("tokens")
        seen = tokens if past is None else torch.cat([past, tokens], dim=1)
        cache[0]["tokens"] = seen  # reordered by beam search with the rest of the cache
        rows = [scripted_logits(tuple(row[1:])) for row in seen.tolist()]
        assert all(row[0] == BOS for row in seen.tolist())
        return torch.stack(rows)[:, None, :]


def decode(length_penalty: float, beam: int = 4) -> list[int]:
    src = torch.tensor([[7, 8, 9]])
    [hyp] = beam_decode(ScriptedDecoder(), src, beam=beam, max_len_a=0.0, max_len_b=5,
                        length_penalty=length_penalty)
    return hyp


@pytest.mark.parametrize(
    ("length_penalty", "expected"),
    [(0.0, []), (0.6, []), (0.75, []), (0.85, [4, 4]), (1.0, [4, 4]), (1.5, [4, 4])],
)
def test_beam_search_ranks_by_log_prob_over_length_to_the_penalty(length_penalty, expected):
    # Scores log(p) / len**lp with len counting EOS: 1 for [], 3 for [4, 4].
    short, long = math.log(P_SHORT), math.log(1 - P_SHORT) / 3**length_penalty
    assert (short > long) == (expected == [])  # the arithmetic the expectations rest on
    assert decode(length_penalty) == expected


def test_translate_hands_the_length_penalty_to_beam_search() -> None:
    src = torch.tensor([[7, 8, 9]])
    kwargs = dict(beam=4, max_len_a=0.0, max_len_b=5)
    assert translate(ScriptedDecoder(), src, length_penalty=0.6, **kwargs) == [[]]
    assert translate(ScriptedDecoder(), src, length_penalty=1.0, **kwargs) == [[4, 4]]
