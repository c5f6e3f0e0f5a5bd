"""Token-budget batches from a lengths array: the greedy rule, epochs, DDP ranks, resume."""

import numpy as np
import pytest
from helpers_data import greedy_batches

from llmpp.data.batching import TokenBatchSampler, collate, make_batches, plan_batches
from llmpp.data.build import BOS, EOS, PAD

COSTS = np.random.default_rng(0).integers(2, 30, size=500).tolist()


def test_batches_follow_the_greedy_rule_exactly():
    assert make_batches(COSTS, 64, None) == greedy_batches(COSTS, 64)
    order, bounds = plan_batches(COSTS, 64, np.random.default_rng(1))
    assert sorted(order.tolist()) == list(range(len(COSTS)))
    shuffled = [order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    # random ties change which pairs share a batch, never the batch shapes
    expected = [sorted(COSTS[i] for i in b) for b in greedy_batches(COSTS, 64)]
    assert [sorted(COSTS[i] for i in b) for b in shuffled] == expected
    assert all(max(COSTS[i] for i in b) * len(b) <= 64 for b in shuffled)


def test_an_oversized_pair_is_a_batch_of_its_own_and_the_sampler_refuses_it():
    assert make_batches([3, 50, 4], 10, None) == [[0, 2], [1]]
    with pytest.raises(ValueError, match="longest sentence"):
        TokenBatchSampler([3, 50, 4], 10, shuffle=True)


def _epoch(sampler, epoch):
    sampler.set_epoch(epoch)
    return [tuple(b) for b in sampler]


def test_epochs_reshuffle_from_the_seed():
    a = TokenBatchSampler(COSTS, 64, shuffle=True, seed=3)
    b = TokenBatchSampler(COSTS, 64, shuffle=True, seed=3)
    assert _epoch(a, 0) == _epoch(b, 0) and _epoch(a, 1) == _epoch(b, 1)
    assert _epoch(a, 0) != _epoch(a, 1)
    assert _epoch(a, 0) != _epoch(TokenBatchSampler(COSTS, 64, shuffle=True, seed=4), 0)
    plain = TokenBatchSampler(COSTS, 64, shuffle=True, seed=3)
    assert list(plain) != list(plain)  # outside Lightning each pass is the next epoch
    fixed = TokenBatchSampler(COSTS, 64, shuffle=False)
    assert _epoch(fixed, 0) == _epoch(fixed, 5) == [tuple(b) for b in make_batches(COSTS, 64, None)]


@pytest.mark.parametrize("world", [2, 3])
def test_ddp_ranks_see_disjoint_batches_covering_the_epoch(world):
    ranks = [
        _epoch(TokenBatchSampler(COSTS, 64, shuffle=True, seed=1, rank=r, world=world), 2)
        for r in range(world)
    ]
    assert len({len(r) for r in ranks}) == 1  # all ranks step together
    seen = [i for r in ranks for b in r for i in b]
    assert len(seen) == len(set(seen))  # no pair on two ranks
    everything = _epoch(TokenBatchSampler(COSTS, 64, shuffle=True, seed=1), 2)
    assert {b for r in ranks for b in r} <= set(everything)
    assert len(everything) - sum(map(len, ranks)) < world  # only the remainder is dropped


def test_resume_continues_with_the_batches_not_yet_seen():
    full = _epoch(TokenBatchSampler(COSTS, 64, shuffle=True, seed=5, rank=1, world=2), 4)
    resumed = TokenBatchSampler(COSTS, 64, shuffle=True, seed=5, rank=1, world=2)
    resumed.resume(epoch=4, consumed=7)
    assert _epoch(resumed, 4) == full[7:]
    assert _epoch(resumed, 4) == full  # the skip applies once
    early = TokenBatchSampler(COSTS, 64, shuffle=True, seed=5, rank=1, world=2)
    early.resume(epoch=4, consumed=7)
    assert len(_epoch(early, 3)) == len(full)  # another epoch is not shortened


def test_collate_shapes_and_specials():
    batch = collate([([5, 6], [7, 8, 9]), (np.array([5], dtype=np.uint16), [7])])
    assert batch["src"].tolist() == [[5, 6, EOS], [5, EOS, PAD]]
    assert batch["tgt_in"].tolist() == [[BOS, 7, 8, 9], [BOS, 7, PAD, PAD]]
    assert batch["tgt_out"].tolist() == [[7, 8, 9, EOS], [7, EOS, PAD, PAD]]
