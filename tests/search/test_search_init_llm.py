"""``init.kind=llm``: the LLM's proposals (a loopback fake server) seed the first population."""

from __future__ import annotations

import json

import numpy as np
import pytest
from search_driver import toy_config

from llmpp.errors import ConfigError
from llmpp.metrics.efficiency import efficiency
from llmpp.stages.search import run_search
from llmpp.testing.fake_llm_server import FakeLLMServer


def _overrides(url: str, gold_root, limit: float) -> list[str]:
    return [
        "task=wmt14_en_de", "space=hat_space0", "search=evolution", "logger=none",
        "search.iterations=1", "search.population_size=8", "search.init.kind=llm",
        "search.init.count=4", "search.init.max_rounds=1", "llm=openai_compatible",
        f"llm.base_url={url}", "llm.model=fake",
        "llm.backoff_base=0.01", f"benchmark.root={gold_root}", "constraint=gflops",
        f"constraint.limit={limit}",
    ]


def test_proposals_seed_the_population_and_invalid_ones_are_counted(
    tmp_path, gold_root, paper_space
):
    rng = np.random.default_rng(3)
    fresh = list({a.key(): a for a in paper_space.sample(rng, 20)}.values())[:3]
    limit = max(efficiency(a, 32768, paper_space.qkv_dim).gflops for a in fresh) + 0.01
    outside = ["encoder-embed-dim-subtransformer: 4096", *fresh[0].to_arch_info()[1:]]
    reply = "\n\n".join(["\n".join(a.to_arch_info()) for a in fresh] + ["\n".join(outside)])
    with FakeLLMServer(answer=lambda prompt: reply) as srv:
        cfg = toy_config(_overrides(srv.base_url, gold_root, limit))
        payload = run_search(cfg, tmp_path / "run")
        assert srv.total_requests == 1
    init = payload["init"]
    assert init["kind"] == "llm" and init["seeded"] == 3 and init["valid"] == 3
    assert init["invalid"] >= 1
    population = json.loads((tmp_path / "run" / "population.json").read_text())
    scored = {paper_space.from_hat(row["arch"]).key() for row in population}
    assert {a.key() for a in fresh} <= scored  # the proposals were in the first population


def test_an_algorithm_without_a_population_refuses(tmp_path, gold_root):
    with FakeLLMServer(answer=lambda prompt: "no architectures here") as srv:
        cfg = toy_config([*_overrides(srv.base_url, gold_root, 9.0), "search=random"])
        with pytest.raises(ConfigError, match="init"):
            run_search(cfg, tmp_path / "run")
