"""A search space's size, GFLOPs range and median: the numbers a space's YAML header states.

    .venv/bin/python benchmarks/space_stats.py hat_small [--task synthetic_en_de]

Size counts distinct architectures (inactive decoder layers do not count). The GFLOPs
range is exact (GFLOPs grow with every choice except the heads, so the extremes are the
smallest sub-network attending one encoder layer and the largest attending three); the
median is over architectures sampled the way searches sample them (uniform per gene
position, so the decoder depth is uniform), the GFLOPs limit a search's constraint uses.
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from llmpp.config import build
from llmpp.metrics.efficiency import efficiency
from llmpp.space.architecture import DECODER_LAYER_FIELDS, ENCODER_LAYER_FIELDS
from llmpp.space.search_space import SearchSpace
from llmpp.task import load_task_config
from llmpp.utils.paths import conf_dir


def space_size(space: SearchSpace) -> int:
    """Distinct architectures: per depth, the product of every active layer's choices."""
    per_encoder_layer = math.prod(len(space.choices[f]) for f in ENCODER_LAYER_FIELDS)
    per_decoder_layer = math.prod(len(space.choices[f]) for f in DECODER_LAYER_FIELDS)
    encoders = sum(per_encoder_layer**n for n in space.choices["encoder_layer_num"])
    decoders = sum(per_decoder_layer**n for n in space.choices["decoder_layer_num"])
    return (len(space.choices["encoder_embed_dim"]) * encoders
            * len(space.choices["decoder_embed_dim"]) * decoders)


def space_stats(space: SearchSpace, vocab_size: int, samples: int = 5000) -> dict:
    """Size, exact GFLOPs range and the median GFLOPs of ``samples`` sampled architectures."""
    def gflops(arch) -> float:
        return efficiency(arch, vocab_size, space.qkv_dim).total_flops / 1e9

    arbitrary = space.choices["decoder_arbitrary_ende_attn"]
    drawn = [gflops(a) for a in space.sample(np.random.default_rng(0), samples)]
    return {
        "space": space.name,
        "architectures": space_size(space),
        "gflops_min": round(gflops(space.smallest(min(arbitrary))), 4),
        "gflops_max": round(gflops(space.largest(max(arbitrary))), 4),
        "gflops_median": round(float(np.median(drawn)), 4),
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("space")
    parser.add_argument("--task", default="synthetic_en_de")
    parser.add_argument("--samples", type=int, default=5000)
    args = parser.parse_args()
    from omegaconf import OmegaConf

    space = build(OmegaConf.load(conf_dir() / "space" / f"{args.space}.yaml"), "space")
    vocab = int(load_task_config(args.task).vocab_size)
    print(json.dumps({"task": args.task, **space_stats(space, vocab, args.samples)}, indent=1))


if __name__ == "__main__":
    main()
