"""Standalone models initialised with the weights they inherit from a trained supernet.

``llmpp retrain``'s fine-tuning option starts a from-scratch training run from these
weights instead of a random initialisation: for a HAT supernet the leading slices,
for a Mixture-of-Supernets the router-mixed, sliced experts (``export`` of any kind).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from llmpp.errors import ConfigError
from llmpp.models.transformer import Transformer
from llmpp.space.architecture import Architecture
from llmpp.training.module import TranslationModule


def load_supernet(checkpoint: str | Path) -> TranslationModule:
    """The supernet module of ``checkpoint`` (a fixed-architecture one is refused)."""
    module = TranslationModule.from_checkpoint(checkpoint)
    if not module.is_supernet:
        raise ConfigError(
            f"{checkpoint} holds one fixed architecture, not a supernet; "
            "pass a checkpoint of llmpp supernet"
        )
    return module


def inherited_model(checkpoint: str | Path, arch: Architecture | Mapping[str, Any]) -> Transformer:
    """A standalone model of ``arch`` (an ``Architecture`` or HAT's YAML keys) with
    the weights it inherits from the supernet in ``checkpoint``."""
    supernet = load_supernet(checkpoint)
    space = supernet.space
    arch = space.validate(arch) if isinstance(arch, Architecture) else space.from_hat(dict(arch))
    return supernet.model.export(arch)


def inherit_weights(module: TranslationModule, checkpoint: str | Path) -> TranslationModule:
    """Overwrite a fixed-architecture ``module``'s weights with those inherited from
    ``checkpoint``'s supernet (in place; returns ``module``).

    The supernet must have been trained on the same space and with the same position
    encodings (they are not weights, so a mismatch would silently change the model).
    """
    if module.is_supernet:
        raise ConfigError(
            "inherited weights start one architecture (sampling=fixed), not a supernet"
        )
    supernet = load_supernet(checkpoint)
    if supernet.space_hash != module.space_hash:
        raise ConfigError(
            f"the supernet in {checkpoint} was trained on space {supernet.space.name} "
            f"(hash {supernet.space_hash}), this architecture's space is {module.space.name} "
            f"(hash {module.space_hash}); pass the matching space=..."
        )
    theirs, ours = supernet.hparams.get("positions", "native"), module.hparams.positions
    if theirs != ours:
        raise ConfigError(
            f"the supernet in {checkpoint} was trained with model.positions={theirs}; "
            f"retrain with model.positions={theirs} to start from its weights"
        )
    exported = supernet.model.export(module.model.arch)
    with torch.no_grad():
        module.model.load_state_dict(exported.state_dict())
    return module
