"""The search space: round-trips, validation messages, seeded operators, encodings."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from llmpp.errors import InvalidArchitectureError
from llmpp.space import Architecture, SearchSpace


def test_roundtrips_hat_yaml_arch_info_and_gene(paper_space: SearchSpace) -> None:
    rng = np.random.default_rng(0)
    for arch in paper_space.sample(rng, 50):
        assert Architecture.from_hat(arch.to_hat()) == arch
        assert Architecture.from_arch_info(arch.to_arch_info()) == arch
        gene = paper_space.to_gene(arch)
        assert len(gene) == paper_space.gene_length() == 4 + 2 * 6 + 4 * 6
        assert paper_space.from_gene(gene) == arch


def test_from_hat_keeps_only_active_layers_of_full_length_lists() -> None:
    config = {
        "encoder-embed-dim-subtransformer": 512,
        "encoder-layer-num-subtransformer": 6,
        "encoder-ffn-embed-dim-all-subtransformer": [1024] * 6,
        "encoder-self-attention-heads-all-subtransformer": [4] * 6,
        "decoder-embed-dim-subtransformer": 640,
        "decoder-layer-num-subtransformer": 2,
        "decoder-ffn-embed-dim-all-subtransformer": [3072, 2048, 1024, 1024, 1024, 1024],
        "decoder-self-attention-heads-all-subtransformer": [8, 4, 4, 4, 4, 4],
        "decoder-ende-attention-heads-all-subtransformer": [4, 8, 8, 8, 8, 8],
        "decoder-arbitrary-ende-attn-all-subtransformer": [2, -1, 1, 1, 1, 1],
    }
    arch = Architecture.from_hat(config)
    assert arch.decoder_ffn_embed_dim == (3072, 2048)
    assert arch.decoder_arbitrary_ende_attn == (2, -1)


def test_validation_names_key_value_and_allowed_values(paper_space: SearchSpace) -> None:
    arch = paper_space.largest()
    bad = arch.to_hat()
    bad["decoder-ffn-embed-dim-all-subtransformer"] = [3072, 4096, 3072, 3072, 3072, 3072]
    with pytest.raises(InvalidArchitectureError) as info:
        paper_space.from_hat(bad)
    message = str(info.value)
    assert "decoder-ffn-embed-dim-all-subtransformer[1] = 4096" in message
    assert "3072, 2048, 1024" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"encoder-embed-dim-subtransformer": 300}, "encoder-embed-dim-subtransformer = 300"),
        ({"decoder-layer-num-subtransformer": 7}, "decoder-layer-num-subtransformer"),
        ({"encoder-embed-dim-subtransformer": "big"}, "must be an integer"),
        ({"not-a-key": 1}, "unknown architecture key 'not-a-key'"),
    ],
)
def test_invalid_values_are_rejected(paper_space: SearchSpace, change: dict, fragment: str) -> None:
    config = {**paper_space.largest().to_hat(), **change}
    with pytest.raises(InvalidArchitectureError, match=fragment.replace("[", r"\[")):
        paper_space.from_hat(config)


def test_missing_key_and_short_list_are_rejected(paper_space: SearchSpace) -> None:
    config = paper_space.largest().to_hat()
    del config["decoder-ende-attention-heads-all-subtransformer"]
    with pytest.raises(InvalidArchitectureError, match="missing the key"):
        Architecture.from_hat(config)
    config = paper_space.largest().to_hat()
    config["encoder-ffn-embed-dim-all-subtransformer"] = [3072]
    with pytest.raises(InvalidArchitectureError, match="has 1 values"):
        Architecture.from_hat(config)


def test_sampling_is_seeded_and_covers_the_space(mini_space: SearchSpace) -> None:
    first = mini_space.sample(np.random.default_rng(7), 200)
    second = mini_space.sample(np.random.default_rng(7), 200)
    assert first == second
    assert first != mini_space.sample(np.random.default_rng(8), 200)
    assert {a.decoder_layer_num for a in first} == set(mini_space.choices["decoder_layer_num"])
    assert all(mini_space.contains(a) for a in first)


def test_mutation_and_crossover_stay_in_space(mini_space: SearchSpace) -> None:
    rng = np.random.default_rng(1)
    parents = mini_space.sample(rng, 20)
    children = [mini_space.mutate(p, rng, prob=0.3) for p in parents]
    children += [
        mini_space.crossover(a, b, rng) for a, b in zip(parents, parents[1:], strict=False)
    ]
    assert all(mini_space.contains(c) for c in children)
    assert any(c not in parents for c in children)
    assert mini_space.mutate(parents[0], rng, prob=0.0) == parents[0]


def test_crossover_of_identical_parents_is_the_parent(mini_space: SearchSpace) -> None:
    arch = mini_space.sample(np.random.default_rng(3))
    assert mini_space.crossover(arch, arch, np.random.default_rng(4)) == arch


def test_space_hash_is_stable_across_processes_and_sensitive_to_choices(
    paper_space: SearchSpace, mini_space: SearchSpace
) -> None:
    code = (
        "from omegaconf import OmegaConf; from hydra.utils import instantiate;"
        "print(instantiate(OmegaConf.load('conf/space/hat_space0.yaml')).hash())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=str(__import__("pathlib").Path(__file__).parents[2]),
    )
    assert out.stdout.strip() == paper_space.hash()
    assert paper_space.hash() != mini_space.hash()
    spec = paper_space.spec()
    spec["decoder_ffn_embed_dim"] = [3072, 2048]
    assert SearchSpace(name="hat_space0", **spec).hash() != paper_space.hash()


def test_arch_key_is_stable_and_distinguishes(paper_space: SearchSpace) -> None:
    a, b = paper_space.largest(), paper_space.smallest()
    assert a.key() == Architecture.from_hat(a.to_hat()).key()
    assert a.key() != b.key()


def test_hat_and_fine_features(paper_space: SearchSpace) -> None:
    largest, smallest = paper_space.largest(), paper_space.smallest()
    hat = paper_space.encode([largest, smallest], "hat")
    assert hat.shape == (2, 10)
    assert np.all(hat > 0) and np.all(hat <= 1)
    assert hat[0, 0] == 1.0 and hat[1, 0] == pytest.approx(512 / 640)
    fine = paper_space.encode([largest, smallest], "fine")
    assert fine.shape == (2, 4 + 2 * 6 + 4 * 6)
    # The 1-layer decoder leaves five zeroed slots per decoder per-layer field.
    assert (fine[1] == 0).sum() == 4 * 5


def test_largest_and_smallest(paper_space: SearchSpace) -> None:
    assert paper_space.largest().decoder_layer_num == 6
    assert paper_space.smallest().encoder_ffn_embed_dim == (1024,) * 6
    assert paper_space.contains(paper_space.largest())
