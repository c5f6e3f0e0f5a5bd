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


def scripted_logits(history: tuple[int, ...], p_short: float = P_SHORT) -> torch.Tensor:
    logits = torch.full((VOCAB,), -30.0)
    if history == ():
        logits[EOS], logits[4] = math.log(p_short), math.log(1 - p_short)
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

    def __init__(self, p_short: float = P_SHORT) -> None:
        self.p_short = p_short
        self.rows: list[int] = []  # rows of each decoding step (batch x beam)

    def encode(self, src: torch.Tensor) -> EncoderOut:
        return EncoderOut([src.float().unsqueeze(-1)], src.eq(PAD))

    def decode(self, tokens, enc, cache, offset=0) -> torch.Tensor:
        self.rows.append(tokens.shape[0])
        past = cache[0].get("tokens")
        seen = tokens if past is None else torch.cat([past, tokens], dim=1)
        cache[0]["tokens"] = seen  # reordered by beam search with the rest of the cache
        rows = [scripted_logits(tuple(row[1:]), self.p_short) for row in seen.tolist()]
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


def test_translate_is_greedy_for_one_beam_and_beam_search_above() -> None:
    # Greedy takes EOS first (P 0.648): nothing. A beam search of 2 at length penalty 1
    # prefers [4, 4] (log 0.352 / 3 > log 0.648), with 2 rows per sentence.
    src = torch.tensor([[7, 8, 9]])
    lengths = dict(max_len_a=0.0, max_len_b=5)
    assert translate(ScriptedDecoder(), src, **lengths) == [[]]
    model = ScriptedDecoder()
    assert translate(model, src, beam=2, **lengths) == [[4, 4]]
    assert model.rows[0] == 2
    # Only greedy decoding takes a fixed length (latency timing).
    assert translate(ScriptedDecoder(), src, beam=1, fixed_length=3) == [[]]


def test_translate_hands_the_length_penalty_to_beam_search() -> None:
    src = torch.tensor([[7, 8, 9]])
    kwargs = dict(beam=4, max_len_a=0.0, max_len_b=5)
    assert translate(ScriptedDecoder(), src, length_penalty=0.6, **kwargs) == [[]]
    assert translate(ScriptedDecoder(), src, length_penalty=1.0, **kwargs) == [[4, 4]]


# ---- the learning-rate schedule ---------------------------------------------------------
def test_warmup_then_cosine_values() -> None:
    from llmpp.training.objective import Schedule

    s = Schedule(max_lr=1e-3, init_lr=1e-4, min_lr=1e-5, warmup_steps=10, total_steps=30)
    assert s.lr(0) == pytest.approx(1e-4)
    assert s.lr(5) == pytest.approx(1e-4 + 0.5 * (1e-3 - 1e-4))
    assert s.lr(10) == pytest.approx(1e-3)
    quarter = 1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + math.cos(math.pi * 0.25))
    assert s.lr(15) == pytest.approx(quarter)
    assert s.lr(30) == pytest.approx(1e-5)
    assert s.lr(130) == pytest.approx(1e-5)  # after total_steps: stays at min_lr
    one = Schedule(max_lr=1.0, init_lr=0.0, min_lr=0.0, warmup_steps=4, total_steps=5)
    assert one.lr(5) == pytest.approx(0.0)  # a one-step cosine reaches its end
    hat = Schedule(max_lr=1.0, init_lr=0.0, min_lr=0.0, total_steps=8, kind="hat_subnet")
    assert hat.warmup == 1 and hat.lr(1 + 7) == pytest.approx(1.0)  # fairseq restarts


def test_the_scheduler_follows_lr() -> None:
    from llmpp.training.objective import Schedule

    s = Schedule(max_lr=0.01, init_lr=0.001, min_lr=0.0005, warmup_steps=2, total_steps=6)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=s.max_lr)
    scheduler = s.scheduler(optimizer)
    seen = []
    for _ in range(8):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen == pytest.approx([s.lr(step) for step in range(8)])


def test_an_unknown_schedule_names_the_choices() -> None:
    from llmpp.errors import ConfigError
    from llmpp.training.objective import Schedule

    with pytest.raises(ConfigError) as err:
        Schedule(kind="linear")
    assert str(err.value) == (
        "schedule='linear' is unknown; choose one of: cosine, hat_supernet, hat_subnet"
    )


def test_strip_cuts_at_the_first_eos_and_drops_padding() -> None:
    from llmpp.models.decoding import _strip

    assert _strip([5, PAD, 6, EOS, 7, EOS]) == [5, 6]
    assert _strip([5, 6, PAD]) == [5, 6]
    assert _strip([EOS, 5]) == []


def test_greedy_translation_takes_the_length_limits() -> None:
    src = torch.tensor([[7, 8, 9]])
    # P(EOS first) = 0.3: greedy goes on with 4; one step allowed gives just that token.
    assert translate(ScriptedDecoder(0.3), src, max_len_a=0.0, max_len_b=1) == [[4]]
    assert translate(ScriptedDecoder(0.3), src, max_len_a=0.0, max_len_b=5) == [[4, 4]]
