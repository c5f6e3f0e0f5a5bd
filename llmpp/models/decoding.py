"""Greedy and beam-search translation with incremental (cached) decoding.

Each step feeds only the newest target token; every decoder layer keeps its past
self-attention keys/values and the encoder keys/values in a cache, so a step costs
O(length) instead of re-running the whole prefix. This is also what the latency
measurement times (a 30-token source, 30 decoded tokens: ``fixed_length``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from llmpp.data.corpus import BOS, EOS, PAD
from llmpp.models.transformer import Transformer, new_cache, reorder_cache


def _max_len(src: Tensor, max_len_a: float, max_len_b: int) -> int:
    return int(src.shape[1] * max_len_a + max_len_b)


@torch.no_grad()
def greedy_decode(
    model: Transformer,
    src: Tensor,
    *,
    max_len_a: float = 1.2,
    max_len_b: int = 10,
    fixed_length: int | None = None,
) -> list[list[int]]:
    """Most likely token at each step; returns token ids without BOS/EOS.

    With ``fixed_length`` exactly that many tokens are decoded (EOS ignored), which
    makes the work independent of what the model predicts (for latency timing).
    """
    enc = model.encode(src)
    batch = src.shape[0]
    steps = fixed_length or _max_len(src, max_len_a, max_len_b)
    cache = new_cache(model)
    tokens = torch.full((batch, 1), BOS, dtype=torch.long, device=src.device)
    out = torch.full((batch, steps), PAD, dtype=torch.long, device=src.device)
    finished = torch.zeros(batch, dtype=torch.bool, device=src.device)
    for step in range(steps):
        logits = model.decode(tokens, enc, cache, offset=step)[:, -1]
        if fixed_length is None:
            logits[:, PAD] = float("-inf")
        tokens = logits.argmax(-1, keepdim=True)
        out[:, step] = tokens[:, 0].masked_fill(finished, PAD)
        if fixed_length is None:
            finished |= tokens[:, 0].eq(EOS)
            if bool(finished.all()):
                break
    return [_strip(row) for row in out.tolist()]


def _strip(ids: list[int]) -> list[int]:
    """Cut at the first EOS and drop padding."""
    if EOS in ids:
        ids = ids[: ids.index(EOS)]
    return [i for i in ids if i != PAD]


@torch.no_grad()
def beam_decode(
    model: Transformer,
    src: Tensor,
    *,
    beam: int = 4,
    max_len_a: float = 1.2,
    max_len_b: int = 10,
    length_penalty: float = 1.0,
) -> list[list[int]]:
    """Beam search; hypotheses are ranked by log-probability / length**length_penalty.

    As in fairseq (HAT's ``--lenpen``), the length counts the end-of-sentence token,
    so HAT's protocol is ``beam=4, length_penalty=0.6``
    (``llmpp.training.evaluation.HAT_BEAM`` / ``HAT_LENGTH_PENALTY``).
    """
    batch = src.shape[0]
    device = src.device
    enc = model.encode(src).reorder(torch.arange(batch, device=device).repeat_interleave(beam))
    steps = _max_len(src, max_len_a, max_len_b)
    cache = new_cache(model)
    tokens = torch.full((batch * beam, 1), BOS, dtype=torch.long, device=device)
    scores = torch.zeros(batch, beam, device=device)
    scores[:, 1:] = float("-inf")  # all beams start identical: keep one alive
    history = torch.zeros(batch * beam, 0, dtype=torch.long, device=device)
    done: list[list[tuple[float, list[int]]]] = [[] for _ in range(batch)]
    for step in range(steps):
        logp = model.decode(tokens, enc, cache, offset=step)[:, -1].float().log_softmax(-1)
        logp[:, PAD] = float("-inf")
        vocab = logp.shape[-1]
        total = (scores.view(-1, 1) + logp).view(batch, beam * vocab)
        top, flat = total.topk(2 * beam, dim=-1)  # 2x so that EOS picks leave beam live ones
        origin, token = flat // vocab, flat % vocab
        new_scores = torch.full((batch, beam), float("-inf"), device=device)
        new_origin = torch.zeros(batch, beam, dtype=torch.long, device=device)
        new_token = torch.full((batch, beam), PAD, dtype=torch.long, device=device)
        for b in range(batch):
            kept = 0
            for score, o, t in zip(
                top[b].tolist(), origin[b].tolist(), token[b].tolist(), strict=True
            ):
                if score == float("-inf") or kept == beam:
                    break
                if t == EOS or step == steps - 1:
                    if len(done[b]) < beam:
                        hyp = history[b * beam + o].tolist() + ([] if t == EOS else [t])
                        done[b].append((score / max(len(hyp) + 1, 1) ** length_penalty, hyp))
                    continue
                new_scores[b, kept], new_origin[b, kept], new_token[b, kept] = score, o, t
                kept += 1
        if all(len(d) >= beam for d in done):
            break
        index = (torch.arange(batch, device=device)[:, None] * beam + new_origin).view(-1)
        reorder_cache(cache, index)
        history = torch.cat([history.index_select(0, index), new_token.view(-1, 1)], dim=1)
        scores, tokens = new_scores, new_token.view(-1, 1)
    return [max(d)[1] if d else [] for d in done]


def translate(model: Transformer, src: Tensor, *, beam: int = 1, **kwargs) -> list[list[int]]:
    """Greedy decoding for ``beam == 1``, beam search otherwise (model in eval mode)."""
    if beam <= 1:
        return greedy_decode(model, src, **kwargs)
    return beam_decode(model, src, beam=beam, **kwargs)
