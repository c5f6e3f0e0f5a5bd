"""HAT's SuperTransformer search space: the single source of truth for choices.

Validation, sampling, mutation, crossover, the flat gene, feature encodings and the
space hash all read the same choice lists, so an artifact that stores the hash can
refuse to be used with a different space.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from llmpp.errors import ConfigError, InvalidArchitectureError
from llmpp.space.architecture import (
    ARCH_FIELDS,
    DECODER_LAYER_FIELDS,
    ENCODER_LAYER_FIELDS,
    HAT_KEYS,
    SCALAR_FIELDS,
    Architecture,
)


def _fmt(values: Sequence[int]) -> str:
    return ", ".join(str(v) for v in values)


class SearchSpace:
    """Choice lists for each of the 10 HAT hyperparameters.

    Per-layer fields share one choice list for every layer. ``qkv_dim`` is the fixed
    attention projection width of the SuperTransformer (512 in HAT's space).
    """

    def __init__(
        self,
        *,
        name: str,
        encoder_embed_dim: Sequence[int],
        encoder_layer_num: Sequence[int],
        encoder_ffn_embed_dim: Sequence[int],
        encoder_self_attention_heads: Sequence[int],
        decoder_embed_dim: Sequence[int],
        decoder_layer_num: Sequence[int],
        decoder_ffn_embed_dim: Sequence[int],
        decoder_self_attention_heads: Sequence[int],
        decoder_ende_attention_heads: Sequence[int],
        decoder_arbitrary_ende_attn: Sequence[int],
        qkv_dim: int,
    ) -> None:
        self.name = name
        self.qkv_dim = int(qkv_dim)
        given = locals()
        self.choices: dict[str, tuple[int, ...]] = {}
        for field in ARCH_FIELDS:
            values = tuple(int(v) for v in given[field])
            if not values:
                raise ConfigError(f"space {name}: {field} needs at least one choice")
            self.choices[field] = values
        heads = (
            self.choices["encoder_self_attention_heads"]
            + self.choices["decoder_self_attention_heads"]
            + self.choices["decoder_ende_attention_heads"]
        )
        bad = [h for h in heads if self.qkv_dim % h]
        if bad:
            raise ConfigError(
                f"space {name}: qkv_dim {self.qkv_dim} is not divisible by {bad[0]} heads"
            )
        if max(self.choices["decoder_arbitrary_ende_attn"]) + 1 > min(
            self.choices["encoder_layer_num"]
        ):
            raise ConfigError(
                f"space {name}: decoder_arbitrary_ende_attn attends more encoder layers "
                "than the shallowest encoder has"
            )

    # ---- derived sizes ------------------------------------------------------------
    @property
    def max_encoder_layers(self) -> int:
        return max(self.choices["encoder_layer_num"])

    @property
    def max_decoder_layers(self) -> int:
        return max(self.choices["decoder_layer_num"])

    def largest(self, arbitrary: int | None = None) -> Architecture:
        """The biggest sub-network (max of every choice; arbitrary attention = -1).

        ``arbitrary``: the decoder's arbitrary attention instead (HAT's validation and
        sandwich extremes, ``largest_arbitrary1``, use 1).
        """
        return self._extreme(max, arbitrary)

    def smallest(self, arbitrary: int | None = None) -> Architecture:
        """The smallest sub-network (min of every choice; ``arbitrary`` as ``largest``)."""
        return self._extreme(min, arbitrary)

    def _extreme(self, pick, arbitrary: int | None = None) -> Architecture:
        if arbitrary is not None and arbitrary not in self.choices["decoder_arbitrary_ende_attn"]:
            raise ConfigError(
                f"arbitrary attention {arbitrary} is not a choice of space {self.name}: "
                f"{_fmt(self.choices['decoder_arbitrary_ende_attn'])}"
            )
        values: dict[str, Any] = {}
        for field in SCALAR_FIELDS:
            values[field] = pick(self.choices[field])
        for field in ENCODER_LAYER_FIELDS:
            values[field] = (pick(self.choices[field]),) * values["encoder_layer_num"]
        for field in DECODER_LAYER_FIELDS:
            choice = pick(self.choices[field])
            if field == "decoder_arbitrary_ende_attn":
                choice = min(self.choices[field]) if arbitrary is None else arbitrary
            values[field] = (choice,) * values["decoder_layer_num"]
        return Architecture(**values)

    # ---- identity -----------------------------------------------------------------
    def spec(self) -> dict[str, Any]:
        """Everything that defines the space, as plain JSON types."""
        return {"qkv_dim": self.qkv_dim, **{k: list(v) for k, v in self.choices.items()}}

    def hash(self) -> str:
        """Stable hash of the choices (the name is not part of it)."""
        payload = json.dumps(self.spec(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"SearchSpace(name={self.name!r}, hash={self.hash()})"

    # ---- validation ---------------------------------------------------------------
    def validate(self, arch: Architecture) -> Architecture:
        """Return ``arch`` unchanged or raise naming the key, value and allowed values."""
        for field in SCALAR_FIELDS:
            value = getattr(arch, field)
            if value not in self.choices[field]:
                raise InvalidArchitectureError(
                    f"{HAT_KEYS[field]} = {value} is not in space {self.name}; "
                    f"allowed values: {_fmt(self.choices[field])}"
                )
        for field in ENCODER_LAYER_FIELDS + DECODER_LAYER_FIELDS:
            for i, value in enumerate(getattr(arch, field)):
                if value not in self.choices[field]:
                    raise InvalidArchitectureError(
                        f"{HAT_KEYS[field]}[{i}] = {value} is not in space {self.name}; "
                        f"allowed values: {_fmt(self.choices[field])}"
                    )
        return arch

    def from_hat(self, config: Any) -> Architecture:
        """Parse HAT's subtransformer mapping and validate it against this space."""
        return self.validate(Architecture.from_hat(config))

    def contains(self, arch: Architecture) -> bool:
        try:
            self.validate(arch)
        except InvalidArchitectureError:
            return False
        return True

    # ---- flat gene ----------------------------------------------------------------
    def gene_length(self) -> int:
        return (
            4
            + len(ENCODER_LAYER_FIELDS) * self.max_encoder_layers
            + len(DECODER_LAYER_FIELDS) * self.max_decoder_layers
        )

    def to_gene(self, arch: Architecture) -> list[int]:
        """HAT's flat gene: scalars then every per-layer list padded to the max depth.

        Inactive layers are padded with the field's first choice, so a gene is a
        pure function of the architecture. (HAT's search instead carries each
        individual's whole gene, inactive values included: ``mutate_gene`` and
        ``crossover_genes`` work on such genes, and ``Evolution(genes="kept")`` keeps them.)
        """
        gene = [arch.encoder_embed_dim, arch.encoder_layer_num]
        for field in ENCODER_LAYER_FIELDS:
            gene += self._pad(field, getattr(arch, field), self.max_encoder_layers)
        gene += [arch.decoder_embed_dim, arch.decoder_layer_num]
        for field in DECODER_LAYER_FIELDS:
            gene += self._pad(field, getattr(arch, field), self.max_decoder_layers)
        return gene

    def _pad(self, field: str, values: tuple[int, ...], depth: int) -> list[int]:
        return list(values) + [self.choices[field][0]] * (depth - len(values))

    def from_gene(self, gene: Sequence[int]) -> Architecture:
        """Decode a flat gene (inactive layers are dropped) and validate it."""
        gene = [int(g) for g in gene]
        if len(gene) != self.gene_length():
            raise InvalidArchitectureError(
                f"gene has {len(gene)} values; space {self.name} genes have {self.gene_length()}"
            )
        pos = 0
        values: dict[str, Any] = {}

        def take(n: int) -> list[int]:
            nonlocal pos
            out = gene[pos : pos + n]
            pos += n
            return out

        values["encoder_embed_dim"], values["encoder_layer_num"] = take(2)
        for field in ENCODER_LAYER_FIELDS:
            values[field] = tuple(take(self.max_encoder_layers)[: values["encoder_layer_num"]])
        values["decoder_embed_dim"], values["decoder_layer_num"] = take(2)
        for field in DECODER_LAYER_FIELDS:
            values[field] = tuple(take(self.max_decoder_layers)[: values["decoder_layer_num"]])
        return self.validate(Architecture(**values))

    def _gene_choices(self) -> list[tuple[int, ...]]:
        """The choice list of every gene position, in gene order."""
        out = [self.choices["encoder_embed_dim"], self.choices["encoder_layer_num"]]
        for field in ENCODER_LAYER_FIELDS:
            out += [self.choices[field]] * self.max_encoder_layers
        out += [self.choices["decoder_embed_dim"], self.choices["decoder_layer_num"]]
        for field in DECODER_LAYER_FIELDS:
            out += [self.choices[field]] * self.max_decoder_layers
        return out

    # ---- seeded sampling, mutation, crossover -------------------------------------
    def sample_gene(self, rng: np.random.Generator) -> list[int]:
        """A whole gene, uniform per position (inactive layers' values included)."""
        return [int(c[rng.integers(len(c))]) for c in self._gene_choices()]

    def sample(self, rng: np.random.Generator, n: int | None = None) -> Any:
        """One architecture (``n=None``) or a list of ``n``, uniform per gene position."""
        if n is None:
            return self.from_gene(self.sample_gene(rng))
        return [self.sample(rng) for _ in range(n)]

    def mutate_gene(self, gene: Sequence[int], rng: np.random.Generator, prob: float
                    ) -> list[int]:
        """Resample each position of a whole gene independently with probability ``prob``."""
        gene = [int(g) for g in gene]
        for i, choices in enumerate(self._gene_choices()):
            if rng.random() < prob:
                gene[i] = int(choices[rng.integers(len(choices))])
        return gene

    def crossover_genes(self, a: Sequence[int], b: Sequence[int], rng: np.random.Generator
                        ) -> list[int]:
        """Uniform crossover of whole genes: each position comes from either parent."""
        return [int(x) if rng.random() < 0.5 else int(y) for x, y in zip(a, b, strict=True)]

    def mutate(self, arch: Architecture, rng: np.random.Generator, prob: float) -> Architecture:
        """Resample each position of ``arch``'s padded gene with probability ``prob``."""
        return self.from_gene(self.mutate_gene(self.to_gene(arch), rng, prob))

    def crossover(
        self, first: Architecture, second: Architecture, rng: np.random.Generator
    ) -> Architecture:
        """Uniform crossover of the padded genes: each position from either parent."""
        return self.from_gene(self.crossover_genes(self.to_gene(first), self.to_gene(second), rng))

    # ---- feature encodings ----------------------------------------------------------
    def normalise(self, field: str, value: float) -> float:
        """One hyperparameter value scaled to (0, 1] the way every feature encoding does."""
        if field == "decoder_arbitrary_ende_attn":
            # -1/1/2 mean "attend the last 1/2/3 encoder layers"; encode that count.
            count = 1 if value == -1 else value + 1
            top = max(self.choices[field])
            return count / (1 if top == -1 else top + 1)
        return value / max(self.choices[field])

    def hat_features(self, arch: Architecture) -> np.ndarray:
        """HAT's 10-dim vector: scalars and per-layer means, each divided by its max."""
        out = []
        for field in ARCH_FIELDS:
            value = getattr(arch, field)
            if isinstance(value, tuple):
                out.append(float(np.mean([self.normalise(field, v) for v in value])))
            else:
                out.append(self.normalise(field, value))
        return np.asarray(out, dtype=np.float32)

    def fine_features(self, arch: Architecture) -> np.ndarray:
        """Per-layer vector: every active layer's normalised value, zeros when inactive."""
        out: list[float] = []
        for field in ARCH_FIELDS:
            value = getattr(arch, field)
            if isinstance(value, tuple):
                depth = (
                    self.max_encoder_layers
                    if field.startswith("encoder")
                    else self.max_decoder_layers
                )
                out += [self.normalise(field, v) for v in value] + [0.0] * (depth - len(value))
            else:
                out.append(self.normalise(field, value))
        return np.asarray(out, dtype=np.float32)

    def encode(self, archs: Sequence[Architecture], kind: str = "hat") -> np.ndarray:
        """Stack the ``hat`` or ``fine`` features of many architectures."""
        if kind not in ("hat", "fine"):
            raise ConfigError(f"unknown feature kind {kind!r}; use 'hat' or 'fine'")
        encode_one = self.hat_features if kind == "hat" else self.fine_features
        return np.stack([encode_one(a) for a in archs]) if archs else np.zeros((0, 0), np.float32)
