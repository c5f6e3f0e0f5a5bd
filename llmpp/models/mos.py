"""Mixture-of-Supernets (Jawahar et al., arXiv 2306.04845): architecture-routed weights.

A HAT supernet hands every sub-network the leading slices of one weight matrix, so
all sub-networks compete for the same numbers. A Mixture-of-Supernets keeps ``m``
full-size *expert* matrices for the layers it applies to, and a small router MLP maps
the active architecture's encoding to mixture weights over the experts; the
sub-network's weight is the mixture, sliced to its widths. The router is trained
with the rest by gradient descent, so sub-networks share weights only as much as
the router decides.

* **Layer-wise** (``LayerMoS``): one router per layer, one softmax vector over the
  experts, used by all of that layer's mixed matrices.
* **Neuron-wise** (``NeuronMoS``): one router per mixed matrix whose output holds a
  softmax over the experts for every output neuron (weight row and bias entry), so
  neurons specialise separately.

As in the paper's machine-translation setting, the mixture replaces the two linear
maps of each feed-forward block (``layers`` chooses the encoder's, the decoder's or
both); the router reads HAT's 10-number architecture encoding
(``SearchSpace.hat_features``) through ``Linear -> ReLU -> Dropout -> Linear``
(width 128, dropout 0.1, 2 experts by default). Two details follow the MoS code when
chosen (``experiment=mos_paper``): ``router_input="mos"`` feeds HAT's raw 10 numbers
(widths, depths, per-layer means, the arbitrary attention as the count of attended
encoder layers) divided by ``MOS_FEATURE_NORM`` = [640, 6, 2048, 6, 640, 6, 2048, 6, 6,
2] (the MoS code's ``feature_norm``; llmpp's ``hat`` option divides each by the space's
largest choice), and ``router_init="mos"`` initialises a neuron-wise router's last
layer xavier-uniform with zero bias (the MoS code's ``LinearSuper``; llmpp's ``torch``
option keeps PyTorch's default, which the MoS code also uses for every other router
layer). Neuron ``j`` always reads router
outputs ``j*m .. j*m+m-1``, so the mixture of a neuron does not depend on how many
neurons the sub-network keeps: mixing then slicing equals slicing then mixing, which
is what makes ``export`` exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from llmpp.errors import ConfigError
from llmpp.models.layers import apply_dropout
from llmpp.models.super_transformer import SuperTransformer
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace

STACKS = ("encoder", "decoder")
ROUTER_INPUTS = ("hat", "fine", "mos")
ROUTER_INITS = ("torch", "mos")
# The MoS code's divisors of HAT's 10 raw architecture numbers (its ``feature_norm``).
MOS_FEATURE_NORM = (640, 6, 2048, 6, 640, 6, 2048, 6, 6, 2)


def mos_router_input(arch: Architecture) -> Tensor:
    """HAT's 10 raw numbers of ``arch`` divided by ``MOS_FEATURE_NORM`` (the MoS code's input).

    The arbitrary attention enters as the mean count of attended encoder layers
    (-1 -> 1, 1 -> 2, 2 -> 3), as HAT's ``get_config_features`` encodes it.
    """
    def mean(values) -> float:
        return float(sum(values)) / len(values)

    raw = (
        arch.encoder_embed_dim,
        arch.encoder_layer_num,
        mean(arch.encoder_ffn_embed_dim),
        mean(arch.encoder_self_attention_heads),
        arch.decoder_embed_dim,
        arch.decoder_layer_num,
        mean(arch.decoder_ffn_embed_dim),
        mean(arch.decoder_self_attention_heads),
        mean(arch.decoder_ende_attention_heads),
        mean([1 if a == -1 else a + 1 for a in arch.decoder_arbitrary_ende_attn]),
    )
    return torch.tensor([v / n for v, n in zip(raw, MOS_FEATURE_NORM, strict=True)],
                        dtype=torch.float32)


class ArchRouter(nn.Module):
    """``Linear -> ReLU -> Dropout -> Linear``: architecture encoding to mixture logits."""

    def __init__(self, in_dim: int, width: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, width), nn.ReLU(), nn.Dropout(dropout), nn.Linear(width, out_dim)
        )

    def forward(self, features: Tensor) -> Tensor:
        return self.net(features)


class ExpertLinear(nn.Module):
    """``experts`` full-size linear maps, mixed by a router and then sliced."""

    def __init__(self, experts: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(experts, out_dim, in_dim))
        self.bias = nn.Parameter(torch.zeros(experts, out_dim))
        for w in self.weight:  # each expert initialised like a plain nn.Linear here
            nn.init.xavier_uniform_(w)

    def mix(self, alpha: Tensor, out_dim: int, in_dim: int) -> tuple[Tensor, Tensor]:
        """(weight, bias) of the sub-network: ``alpha`` is ``[m]`` or ``[out_dim, m]``."""
        weight, bias = self.weight[:, :out_dim, :in_dim], self.bias[:, :out_dim]
        if alpha.dim() == 1:  # layer-wise: one vector for every neuron
            return torch.einsum("m,moi->oi", alpha, weight), alpha @ bias
        return torch.einsum("om,moi->oi", alpha, weight), (alpha * bias.T).sum(-1)


class MixtureFeedForward(nn.Module):
    """``layers.FeedForward`` with its two linear maps replaced by router-mixed experts.

    ``route`` is the active architecture's encoding; the owning supernet sets it.
    """

    def __init__(
        self,
        dim: int,
        ffn_dim: int,
        *,
        experts: int,
        router_in: int,
        router_width: int,
        router_dropout: float,
        neuron_wise: bool,
        router_init: str = "torch",
    ) -> None:
        super().__init__()
        self.experts = experts
        self.neuron_wise = neuron_wise
        self.fc1 = ExpertLinear(experts, dim, ffn_dim)
        self.fc2 = ExpertLinear(experts, ffn_dim, dim)
        if neuron_wise:
            self.router1 = ArchRouter(router_in, router_width, experts * ffn_dim, router_dropout)
            self.router2 = ArchRouter(router_in, router_width, experts * dim, router_dropout)
            if router_init == "mos":
                for router in (self.router1, self.router2):
                    last = router.net[-1]
                    nn.init.xavier_uniform_(last.weight)
                    nn.init.zeros_(last.bias)
        else:
            self.router = ArchRouter(router_in, router_width, experts, router_dropout)
        self.route: Tensor | None = None
        self._cache: tuple[Tensor, tuple, dict[str, Tensor]] | None = None

    def alphas(self, hidden_dim: int, out_dim: int) -> tuple[Tensor, Tensor]:
        """Mixture weights of fc1 and fc2 for the active architecture (softmax over experts)."""
        if self.route is None:
            raise RuntimeError("no architecture is active; call set_arch on the supernet")
        route = self.route.to(self.fc1.weight.device, self.fc1.weight.dtype)
        if not self.neuron_wise:
            alpha = F.softmax(self.router(route), dim=-1)
            return alpha, alpha
        m = self.experts
        a1 = F.softmax(self.router1(route).view(-1, m)[:hidden_dim], dim=-1)
        a2 = F.softmax(self.router2(route).view(-1, m)[:out_dim], dim=-1)
        return a1, a2

    def mixed(self, dim: int, ffn_dim: int) -> dict[str, Tensor]:
        """The sub-network's fc1/fc2 weights and biases, named as in ``FeedForward``.

        Without autograd in eval mode (inherited-weight evaluation, decoding token by
        token) the result is reused until the route or any weight changes: the key
        holds the route tensor itself and every parameter's in-place version counter.
        """
        key = None
        if not self.training and not torch.is_grad_enabled():
            key = (dim, ffn_dim, *(p._version for p in self.parameters()))
            if self._cache is not None and self._cache[0] is self.route and self._cache[1] == key:
                return self._cache[2]
        a1, a2 = self.alphas(ffn_dim, dim)
        w1, b1 = self.fc1.mix(a1, ffn_dim, dim)
        w2, b2 = self.fc2.mix(a2, dim, ffn_dim)
        weights = {"fc1.weight": w1, "fc1.bias": b1, "fc2.weight": w2, "fc2.bias": b2}
        self._cache = (self.route, key, weights) if key is not None else None
        return weights

    def forward(self, x: Tensor, dim: int, ffn_dim: int, dropout: float) -> Tensor:
        w = self.mixed(dim, ffn_dim)
        hidden = F.relu(F.linear(x, w["fc1.weight"], w["fc1.bias"]))
        hidden = apply_dropout(hidden, dropout, self.training)
        return F.linear(hidden, w["fc2.weight"], w["fc2.bias"])


class MixtureOfSupernets(SuperTransformer):
    """A SuperTransformer whose feed-forward blocks are architecture-routed mixtures.

    Same interface as ``SuperTransformer`` (``set_arch``, ``activated``, ``export``,
    in-place forward); ``neuron_wise`` picks the variant (the subclasses fix it).
    """

    neuron_wise = False

    def __init__(
        self,
        space: SearchSpace,
        vocab_size: int,
        *,
        experts: int = 2,
        router_width: int = 128,
        router_dropout: float = 0.1,
        router_input: str = "hat",
        router_init: str = "torch",
        layers: Sequence[str] = STACKS,
        **kwargs,
    ) -> None:
        super().__init__(space, vocab_size, **kwargs)
        layers = tuple(layers)
        if experts < 1 or router_width < 1:
            raise ConfigError(f"experts={experts} and router_width={router_width} must be >= 1")
        if not layers or set(layers) - set(STACKS):
            raise ConfigError(f"layers={list(layers)} must be a non-empty subset of {list(STACKS)}")
        if router_input not in ROUTER_INPUTS:
            raise ConfigError(
                f"router_input={router_input!r}; choose one of: {', '.join(ROUTER_INPUTS)}"
            )
        if router_init not in ROUTER_INITS:
            raise ConfigError(
                f"router_init={router_init!r}; choose one of: {', '.join(ROUTER_INITS)}"
            )
        self.router_input = router_input
        self.routed_stacks = layers
        router_in = len(self._features(space.largest()))
        for stack in layers:
            dim = getattr(self.shape, f"{stack}_embed_dim")
            for layer, ffn_dim in zip(
                getattr(self, f"{stack}_layers"),
                getattr(self.shape, f"{stack}_ffn_dims"),
                strict=True,
            ):
                layer.ffn = MixtureFeedForward(
                    dim,
                    ffn_dim,
                    experts=experts,
                    router_in=router_in,
                    router_width=router_width,
                    router_dropout=router_dropout,
                    neuron_wise=self.neuron_wise,
                    router_init=router_init,
                )
        self.arch = self.arch  # route the mixtures for the initial (largest) architecture

    def encoder_key(self, arch: Architecture) -> tuple | None:
        # A routed encoder reads the whole architecture's encoding, decoder included.
        return None if "encoder" in self.routed_stacks else super().encoder_key(arch)

    def _features(self, arch: Architecture) -> Tensor:
        if self.router_input == "mos":
            return mos_router_input(arch)
        encode = self.space.hat_features if self.router_input == "hat" else self.space.fine_features
        return torch.as_tensor(encode(arch), dtype=torch.float32)

    def _mixtures(self) -> dict[str, MixtureFeedForward]:
        return {n: m for n, m in self.named_modules() if isinstance(m, MixtureFeedForward)}

    # Every assignment of ``arch`` (set_arch, activated's restore, __init__) re-routes.
    @property
    def arch(self) -> Architecture:
        return self._active_arch

    @arch.setter
    def arch(self, arch: Architecture) -> None:
        self._active_arch = arch
        if "space" in self.__dict__:  # not yet during Transformer.__init__
            features = self._features(arch)
            for mixture in self._mixtures().values():
                mixture.route = features

    def inherited_weights(self, arch: Architecture) -> Mapping[str, Tensor]:
        """The state dict with every mixture's full-size, router-mixed fc1/fc2 for ``arch``.

        Routed in eval mode (no router dropout): the exported model is the supernet's
        deterministic sub-network.
        """
        weights = dict(self.state_dict())
        was_training = self.training
        self.eval()
        try:
            with self.activated(arch), torch.no_grad():
                for name, mixture in self._mixtures().items():
                    out_dim, hidden_dim = mixture.fc2.weight.shape[1:]
                    for key, tensor in mixture.mixed(out_dim, hidden_dim).items():
                        weights[f"{name}.{key}"] = tensor
        finally:
            self.train(was_training)
        return weights


class LayerMoS(MixtureOfSupernets):
    """Layer-wise Mixture-of-Supernets: one mixture vector per layer."""

    neuron_wise = False


class NeuronMoS(MixtureOfSupernets):
    """Neuron-wise Mixture-of-Supernets: one mixture per output neuron."""

    neuron_wise = True
