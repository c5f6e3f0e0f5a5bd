"""Operators, schedules and the memo on their own."""

from __future__ import annotations

import numpy as np
import pytest

from llmpp.search.memo import MemoScorer
from llmpp.search.operators import Generator, Sampling
from llmpp.search.schedule import AdaptiveSchedule, FixedSchedule
from llmpp.testing.search_contract import params_constraint
from llmpp.testing.toy import ToyPredictor


def test_search_generator_gives_up_on_impossible_constraint(mini_space):
    gen = Generator(constraint=params_constraint(1.0), max_tries_per_arch=5)
    out = gen.generate(lambda rng: Sampling()(mini_space, rng), 10, np.random.default_rng(0), set())
    assert out == []  # returns, never loops forever


def test_search_generator_deduplicates(mini_space):
    seen: set[str] = set()
    out = Generator().generate(lambda rng: mini_space.smallest(), 3, np.random.default_rng(0), seen)
    assert out == [mini_space.smallest()] and seen == {mini_space.smallest().key()}


def test_search_fixed_schedule_default_is_the_papers():
    schedule = FixedSchedule()
    schedule.bind(30)
    assert [schedule.predictor(i) for i in (0, 14, 15, 29)] == [
        "llm_distill", "llm_distill", "supernet", "supernet"]


def test_search_adaptive_schedule_switches_when_parents_settle():
    schedule = AdaptiveSchedule(patience=2, min_switch=2, overlap=0.8)
    schedule.bind(30)
    for it, keys in enumerate([list("abcde"), list("abcxy"), list("abcde"), list("abcde"),
                                list("abcde")]):
        schedule.observe(it, keys)
    # Unchanged parents at 2->3 and 3->4: two in a row, so iteration 5 uses the supernet.
    assert schedule.switch_at == 5
    assert schedule.predictor(4) == "llm_distill" and schedule.predictor(5) == "supernet"


def test_search_memo_scores_each_arch_once_in_one_batch(mini_space):
    predictor = ToyPredictor(space=mini_space)
    scorer = MemoScorer({"toy": predictor})
    archs = mini_space.sample(np.random.default_rng(0), 6)
    first = scorer.score("toy", archs + archs[:2])
    assert predictor.calls == 1 and scorer.evaluations["toy"] == 6
    again = scorer.score("toy", archs[::-1])
    assert predictor.calls == 1, "nothing new: no predictor call"
    np.testing.assert_allclose(again, first[:6][::-1])
    restored = MemoScorer({"toy": ToyPredictor(space=mini_space)})
    restored.load_state_dict(scorer.state_dict())
    np.testing.assert_allclose(restored.score("toy", archs), first[:6])
    assert restored.predictors["toy"].calls == 0


def test_search_memo_rejects_unknown_predictor(mini_space):
    with pytest.raises(Exception, match="supernet"):
        MemoScorer({"toy": ToyPredictor(space=mini_space)}).require(["supernet"])


def test_search_generator_keeps_repeats_as_the_authors(mini_space):
    """deduppopu=0: a repeated architecture is a member again, not drawn anew."""
    out = Generator(unique=False).generate(
        lambda rng: mini_space.smallest(), 3, np.random.default_rng(0), set())
    assert out == [mini_space.smallest()] * 3


class _ScriptedRng:
    """Resamples only gene position ``at``, to ``choice`` (index into its choices)."""

    def __init__(self, at: int, choice: int) -> None:
        self.at, self.choice, self.calls = at, choice, -1

    def random(self) -> float:
        self.calls += 1
        return 0.0 if self.calls == self.at else 0.99

    def integers(self, n: int) -> int:
        return self.choice


def _depth_position(space) -> int:
    return 2 + 2 * space.max_encoder_layers + 1  # after the encoder part and decoder width


def test_a_reactivated_layer_gets_its_old_values_back(mini_space):
    """HAT's genes keep inactive layers' values; llmpp's padded genes reset them."""
    gene = mini_space.to_gene(mini_space.smallest())  # one decoder layer
    layers = mini_space.max_decoder_layers
    ffn_at = _depth_position(mini_space) + 1
    gene[ffn_at + 1: ffn_at + layers] = [256] * (layers - 1)  # inactive, not the first choice
    assert mini_space.from_gene(gene) == mini_space.smallest()
    three = mini_space.choices["decoder_layer_num"].index(3)
    child = mini_space.from_gene(
        mini_space.mutate_gene(gene, _ScriptedRng(_depth_position(mini_space), three), 0.5))
    assert child.decoder_layer_num == 3
    assert child.decoder_ffn_embed_dim == (128, 256, 256)
    padded = mini_space.mutate(mini_space.smallest(),
                               _ScriptedRng(_depth_position(mini_space), three), 0.5)
    assert padded.decoder_ffn_embed_dim == (128, 512, 512)  # the first choice


def test_evolution_parents_keep_their_whole_genes(mini_space):
    from llmpp.search.evolution import Evolution

    search = Evolution(space=mini_space, seed=3, population_size=40, genes="kept", unique=False)
    first = search.ask()
    genes = [list(g) for g in search.candidate_genes]
    assert [mini_space.from_gene(g) for g in genes] == first
    scores = np.random.default_rng(0).random(len(first))
    search.tell(first, scores)
    order = sorted(range(len(first)), key=lambda i: -scores[i])[: search.parents]
    assert search.candidate_genes[: search.parents] == [genes[i] for i in order]
    # The kept genes differ from padded ones where a parent has inactive layers.
    assert any(genes[i] != mini_space.to_gene(first[i]) for i in order)
    again = Evolution(space=mini_space, seed=3, population_size=40, genes="kept")
    again.load_state_dict(search.state_dict())
    assert again.candidate_genes == search.candidate_genes


def test_hats_extremes_attend_two_encoder_layers(mini_space):
    assert mini_space.largest(1).decoder_arbitrary_ende_attn == (1, 1, 1)
    assert mini_space.smallest(1).decoder_arbitrary_ende_attn == (1,)
    assert mini_space.largest().decoder_arbitrary_ende_attn == (-1, -1, -1)  # llmpp's option
    from llmpp.training.module import TranslationModule

    module = TranslationModule(space_name=mini_space.name, space_spec=mini_space.spec(),
                               vocab_size=50, sampling="sandwich",
                               extreme_arbitrary_ende_attn=1)
    largest, smallest = module.step_archs(0)[:2]
    assert (largest, smallest) == (mini_space.largest(1), mini_space.smallest(1))


def test_paper_preset_uses_hats_operators(compose):
    from llmpp.pipeline.plan import step_config
    from llmpp.registry import steps

    cfg = compose("run", ["experiment=hsnas_wmt14_en_de_100ms"])
    search = step_config(cfg, next(s for s in steps() if s.name == "search"), {}).search
    assert (search.genes, search.unique) == ("kept", False)
    assert cfg.model.extreme_arbitrary_ende_attn == 1
