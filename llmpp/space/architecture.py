"""The typed architecture of HAT's SuperTransformer search space.

An ``Architecture`` holds the 10 HAT hyperparameters. Per-layer lists hold only the
*active* layers (a 2-layer decoder has 2 FFN dims), which makes two architectures
equal exactly when they describe the same network. Conversions to and from HAT's
subtransformer YAML keys and the paper's ``arch_info`` strings live here; the flat
gene (which needs the space's maximum depths) lives in ``SearchSpace``.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from llmpp.errors import InvalidArchitectureError

# Field name -> HAT subtransformer key, in the order HAT and the paper list them.
HAT_KEYS: dict[str, str] = {
    "encoder_embed_dim": "encoder-embed-dim-subtransformer",
    "encoder_layer_num": "encoder-layer-num-subtransformer",
    "encoder_ffn_embed_dim": "encoder-ffn-embed-dim-all-subtransformer",
    "encoder_self_attention_heads": "encoder-self-attention-heads-all-subtransformer",
    "decoder_embed_dim": "decoder-embed-dim-subtransformer",
    "decoder_layer_num": "decoder-layer-num-subtransformer",
    "decoder_ffn_embed_dim": "decoder-ffn-embed-dim-all-subtransformer",
    "decoder_self_attention_heads": "decoder-self-attention-heads-all-subtransformer",
    "decoder_ende_attention_heads": "decoder-ende-attention-heads-all-subtransformer",
    "decoder_arbitrary_ende_attn": "decoder-arbitrary-ende-attn-all-subtransformer",
}
FIELD_OF_KEY = {key: name for name, key in HAT_KEYS.items()}

SCALAR_FIELDS = ("encoder_embed_dim", "encoder_layer_num", "decoder_embed_dim", "decoder_layer_num")
ENCODER_LAYER_FIELDS = ("encoder_ffn_embed_dim", "encoder_self_attention_heads")
DECODER_LAYER_FIELDS = (
    "decoder_ffn_embed_dim",
    "decoder_self_attention_heads",
    "decoder_ende_attention_heads",
    "decoder_arbitrary_ende_attn",
)


def _as_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            if isinstance(value, float) and value.is_integer():
                return int(value)
        except AttributeError:
            pass
        raise InvalidArchitectureError(f"{key} = {value!r} must be an integer")
    return value


def _as_int_list(key: str, value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InvalidArchitectureError(f"{key} = {value!r} must be a list of integers")
    return tuple(_as_int(f"{key}[{i}]", v) for i, v in enumerate(value))


@dataclass(frozen=True)
class Architecture:
    """One sub-transformer: embedding dims, depths and per-layer choices."""

    encoder_embed_dim: int
    encoder_layer_num: int
    encoder_ffn_embed_dim: tuple[int, ...]
    encoder_self_attention_heads: tuple[int, ...]
    decoder_embed_dim: int
    decoder_layer_num: int
    decoder_ffn_embed_dim: tuple[int, ...]
    decoder_self_attention_heads: tuple[int, ...]
    decoder_ende_attention_heads: tuple[int, ...]
    decoder_arbitrary_ende_attn: tuple[int, ...]

    def __post_init__(self) -> None:
        for name in ENCODER_LAYER_FIELDS:
            if len(getattr(self, name)) != self.encoder_layer_num:
                raise InvalidArchitectureError(
                    f"{HAT_KEYS[name]} has {len(getattr(self, name))} values but "
                    f"{HAT_KEYS['encoder_layer_num']} is {self.encoder_layer_num}"
                )
        for name in DECODER_LAYER_FIELDS:
            if len(getattr(self, name)) != self.decoder_layer_num:
                raise InvalidArchitectureError(
                    f"{HAT_KEYS[name]} has {len(getattr(self, name))} values but "
                    f"{HAT_KEYS['decoder_layer_num']} is {self.decoder_layer_num}"
                )

    # ---- HAT subtransformer YAML keys -------------------------------------------
    @classmethod
    def from_hat(cls, config: Mapping[str, Any]) -> Architecture:
        """Build from a mapping with HAT's subtransformer keys.

        Per-layer lists may be longer than the layer count (HAT's YAML files list
        all six layers); only the active prefix is kept.
        """
        if not isinstance(config, Mapping):
            raise InvalidArchitectureError(
                f"an architecture must be a mapping of HAT keys, got {type(config).__name__}"
            )
        unknown = sorted(set(config) - set(FIELD_OF_KEY))
        if unknown:
            raise InvalidArchitectureError(
                f"unknown architecture key {unknown[0]!r}; expected the HAT keys: "
                + ", ".join(HAT_KEYS.values())
            )
        missing = [key for key in HAT_KEYS.values() if key not in config]
        if missing:
            raise InvalidArchitectureError(f"architecture is missing the key {missing[0]!r}")
        values: dict[str, Any] = {}
        for name in SCALAR_FIELDS:
            values[name] = _as_int(HAT_KEYS[name], config[HAT_KEYS[name]])
        for layers_field, names in (
            ("encoder_layer_num", ENCODER_LAYER_FIELDS),
            ("decoder_layer_num", DECODER_LAYER_FIELDS),
        ):
            depth = values[layers_field]
            if depth < 1:
                raise InvalidArchitectureError(f"{HAT_KEYS[layers_field]} = {depth} must be >= 1")
            for name in names:
                layer_values = _as_int_list(HAT_KEYS[name], config[HAT_KEYS[name]])
                if len(layer_values) < depth:
                    raise InvalidArchitectureError(
                        f"{HAT_KEYS[name]} has {len(layer_values)} values but "
                        f"{HAT_KEYS[layers_field]} is {depth}"
                    )
                values[name] = layer_values[:depth]
        return cls(**values)

    def to_hat(self) -> dict[str, int | list[int]]:
        """The mapping of HAT subtransformer keys (lists of active layers)."""
        out: dict[str, int | list[int]] = {}
        for name, key in HAT_KEYS.items():
            value = getattr(self, name)
            out[key] = list(value) if isinstance(value, tuple) else value
        return out

    # ---- the paper's arch_info strings ------------------------------------------
    @classmethod
    def from_arch_info(cls, lines: Sequence[str]) -> Architecture:
        """Parse the paper's ``"<hat-key>: <value>"`` strings."""
        config: dict[str, Any] = {}
        for line in lines:
            key, sep, raw = str(line).partition(":")
            if not sep:
                raise InvalidArchitectureError(f"arch_info line {line!r} is not '<key>: <value>'")
            try:
                config[key.strip()] = ast.literal_eval(raw.strip())
            except (ValueError, SyntaxError) as exc:
                raise InvalidArchitectureError(
                    f"arch_info line {line!r} has an unreadable value"
                ) from exc
        return cls.from_hat(config)

    def to_arch_info(self) -> list[str]:
        """The paper's ``arch_info`` strings, formatted as in the authors' files."""
        lines = []
        for key, value in self.to_hat().items():
            text = (
                "[" + ", ".join(str(v) for v in value) + "]" if isinstance(value, list) else value
            )
            lines.append(f"{key}: {text}")
        return lines

    # ---- identity -----------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        """Plain field-name dict (lists for per-layer values)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def key(self) -> str:
        """A stable short id: equal architectures get equal keys across processes."""
        payload = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def short(self) -> str:
        """A compact human-readable summary for logs and plot labels."""
        return (
            f"E{self.encoder_embed_dim}x{self.encoder_layer_num}"
            f"-D{self.decoder_embed_dim}x{self.decoder_layer_num}"
        )


ARCH_FIELDS = tuple(f.name for f in fields(Architecture))
