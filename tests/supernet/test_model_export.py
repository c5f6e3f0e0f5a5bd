"""SuperTransformer: in-place subnets, exported standalone models, analytic counts, decoding."""

import numpy as np
import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from llmpp.metrics.efficiency import efficiency
from llmpp.models import ModelShape, SuperTransformer, Transformer
from llmpp.models.decoding import beam_decode, greedy_decode
from llmpp.models.transformer import new_cache

VOCAB = 97


@pytest.fixture(scope="module")
def supernet(mini_space):
    torch.manual_seed(0)
    return SuperTransformer(mini_space, VOCAB).eval()


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, VOCAB, (3, 11), generator=g)
    src[0, 7:] = 0  # padding
    tgt = torch.randint(4, VOCAB, (3, 8), generator=g)
    return src, tgt


def test_export_outputs_equal_in_place_subnet(supernet, mini_space):
    src, tgt = _batch()
    archs = [
        mini_space.largest(),
        mini_space.smallest(),
        *mini_space.sample(np.random.default_rng(5), 4),
    ]
    for arch in archs:
        with supernet.activated(arch):
            inplace = supernet(src, tgt)
        standalone = supernet.export(arch).eval()
        torch.testing.assert_close(standalone(src, tgt), inplace, atol=1e-5, rtol=1e-5)
    assert supernet.arch == mini_space.largest()  # activated() restores


def test_subnets_differ_and_weights_are_shared(supernet, mini_space):
    src, tgt = _batch(1)
    a, b = mini_space.largest(), mini_space.smallest()
    with supernet.activated(a):
        out_a = supernet(src, tgt)
    with supernet.activated(b):
        out_b = supernet(src, tgt)
    assert not torch.allclose(out_a, out_b)
    exported = supernet.export(b)
    key = "encoder_layers.0.ffn.fc1.weight"
    torch.testing.assert_close(exported.state_dict()[key], supernet.state_dict()[key][:128, :96])


def test_exported_parameter_count_is_analytic(mini_space, paper_space):
    for space, vocab in ((mini_space, 1000), (paper_space, 32768)):
        for arch in [space.largest(), space.smallest(), *space.sample(np.random.default_rng(0), 3)]:
            with torch.device("meta"):  # shapes only: no memory, no init time
                model = Transformer(ModelShape.of(arch, vocab, space.qkv_dim), arch)
            expected = efficiency(
                arch, vocab, space.qkv_dim
            ).num_parameters_without_embedding_weights
            assert model.num_parameters_without_embeddings() == expected


def test_flop_counter_matches_analytic_matmuls(supernet, mini_space):
    """Matmul FLOPs of one 30-token forward pass vs the analytic count.

    FlopCounterMode counts matmuls (linear, attention) only; the analytic count adds
    LayerNorm, scaling and masking terms, which are < 2 % of the total here.
    """
    torch.backends.mha.set_fastpath_enabled(False)
    src = torch.randint(4, VOCAB, (1, 30))
    tgt = torch.randint(4, VOCAB, (1, 30))
    for arch in [mini_space.largest(), *mini_space.sample(np.random.default_rng(2), 2)]:
        model = supernet.export(arch).eval()
        with (
            sdpa_kernel(SDPBackend.MATH),
            FlopCounterMode(display=False) as counter,
            torch.no_grad(),
        ):
            model(src, tgt)
        analytic = efficiency(arch, VOCAB, mini_space.qkv_dim).total_flops
        measured = counter.get_total_flops()
        assert measured <= analytic
        assert measured == pytest.approx(analytic, rel=0.02)


def test_incremental_decoding_equals_teacher_forcing(supernet, mini_space):
    src, tgt = _batch(2)
    arch = mini_space.sample(np.random.default_rng(3))
    with supernet.activated(arch):
        full = supernet(src, tgt)
        enc = supernet.encode(src)
        cache = new_cache(supernet)
        steps = [
            supernet.decode(tgt[:, i : i + 1], enc, cache, offset=i) for i in range(tgt.shape[1])
        ]
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-5)


def test_greedy_and_beam_decoding(supernet, mini_space):
    src, _ = _batch(3)
    model = supernet.export(mini_space.smallest()).eval()
    greedy = greedy_decode(model, src, max_len_b=5)
    assert len(greedy) == 3 and all(len(h) <= 11 * 1.2 + 5 for h in greedy)
    assert beam_decode(model, src, beam=1, max_len_b=5) == greedy
    beams = beam_decode(model, src, beam=3, max_len_b=5)
    assert len(beams) == 3
    fixed = greedy_decode(model, src[:1], fixed_length=30)
    assert isinstance(fixed[0], list)
