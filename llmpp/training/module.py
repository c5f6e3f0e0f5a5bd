"""The LightningModule that trains a SuperTransformer (or one architecture from scratch).

``sampling`` chooses what runs at each training step:

* ``random`` — HAT: one architecture drawn uniformly from the space;
* ``sandwich`` — the largest, the smallest and ``num_random`` random architectures,
  their losses summed before one optimiser step;
* ``largest`` — always the largest (a plain big Transformer);
* ``fixed`` — train ``arch`` from scratch; the model is then a standalone
  ``Transformer`` of exactly that architecture (no supernet weights).

Each step's random architectures come from a generator seeded by (seed, step), so
every DDP rank trains the same sub-network and a resumed run draws what an
uninterrupted one would. The checkpoint stores the search space (spec and hash).

``supernet`` says which supernet kind to build (``{"_target_": <class>, **its keys}``:
HAT's ``SuperTransformer`` by default, or a Mixture-of-Supernets from
``llmpp.models.mos``); it is a hyper-parameter, so ``from_checkpoint`` rebuilds
whichever kind the checkpoint holds.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import numpy as np
import torch
from omegaconf import DictConfig, ListConfig, OmegaConf

from llmpp.errors import ConfigError, CorruptFileError, DataNotFoundError
from llmpp.models.super_transformer import SuperTransformer, space_widths
from llmpp.models.transformer import ModelShape, Transformer
from llmpp.space.architecture import Architecture
from llmpp.space.search_space import SearchSpace
from llmpp.training.evaluation import evaluate_loss
from llmpp.training.objective import Schedule, label_smoothed_loss

SAMPLING = ("random", "sandwich", "largest", "fixed")
HAT_SUPERNET = {"_target_": "llmpp.models.super_transformer.SuperTransformer"}


def plain(value: Any) -> Any:
    """A DictConfig/ListConfig as plain containers (picklable hyper-parameters)."""
    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value


def build_supernet(
    supernet: Mapping[str, Any], space: SearchSpace, vocab_size: int, **common: Any
) -> SuperTransformer:
    """The supernet kind named by ``supernet["_target_"]``, with its extra keys."""
    spec = dict(supernet)
    target = spec.pop("_target_", None)
    try:
        cls = hydra.utils.get_class(str(target))
    except Exception:
        raise ConfigError(
            f"model.supernet._target_={target!r} is not an importable class; use e.g. "
            "llmpp.models.super_transformer.SuperTransformer or llmpp.models.mos.NeuronMoS"
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, SuperTransformer)):
        raise ConfigError(f"model.supernet._target_={target!r} is not a SuperTransformer class")
    try:
        return cls(space, vocab_size, **common, **spec)
    except TypeError as exc:
        raise ConfigError(f"model.supernet: {exc}; check its keys") from None


def space_from_spec(name: str, spec: Mapping[str, Any]) -> SearchSpace:
    """Rebuild a ``SearchSpace`` from ``SearchSpace.spec()`` (as stored in checkpoints)."""
    return SearchSpace(
        name=name, **{k: list(v) if isinstance(v, list | tuple) else v for k, v in spec.items()}
    )


def fused_adam_supported(params) -> bool:
    """Whether every parameter sits where torch has a fused Adam kernel (CPU, CUDA)."""
    return all(p.device.type in ("cpu", "cuda") for p in params)


class TranslationModule(L.LightningModule):
    """Supernet or fixed-architecture training with label-smoothed cross entropy.

    ``positions``/``scale_dropout``/``activation_dropout``/``scale_encoder_attention_dropout``
    are HAT's position-encoding and dropout rules, ``normalize_before`` llmpp's pre-norm option
    (see ``llmpp.models.transformer``), applied relative to the space's widest model
    also when one architecture is trained from scratch, as HAT does; ``schedule`` is
    the learning-rate schedule kind (``llmpp.training.objective.SCHEDULES``).
    """

    def __init__(
        self,
        *,
        space_name: str,
        space_spec: Mapping[str, Any],
        vocab_size: int,
        supernet: Mapping[str, Any] | None = None,
        sampling: str = "random",
        num_random: int = 1,
        arch: Mapping[str, Any] | None = None,
        dropout: float = 0.1,
        attention_dropout: float = 0.0,
        label_smoothing: float = 0.1,
        positions: str = "native",
        scale_dropout: bool = False,
        activation_dropout: float | None = None,
        scale_encoder_attention_dropout: bool = True,
        normalize_before: bool = False,
        extreme_arbitrary_ende_attn: int | None = None,
        schedule: str = "cosine",
        max_lr: float = 1e-3,
        init_lr: float = 1e-7,
        min_lr: float = 1e-7,
        warmup_steps: int = 10000,
        total_steps: int = 40000,
        betas: tuple[float, float] = (0.9, 0.98),
        weight_decay: float = 0.0,
        seed: int = 0,
        task: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if sampling not in SAMPLING:
            raise ConfigError(
                f"sampling={sampling!r} is unknown; choose one of: {', '.join(SAMPLING)}"
            )
        # Plain containers before saving: checkpoints must not need OmegaConf to load.
        supernet, arch, task = plain(supernet) or dict(HAT_SUPERNET), plain(arch), plain(task)
        space_spec, betas = plain(space_spec), tuple(plain(betas))
        self.save_hyperparameters()
        self.space = space_from_spec(space_name, dict(space_spec))
        self.space_hash = self.space.hash()
        common = {
            "dropout": dropout,
            "attention_dropout": attention_dropout,
            "positions": positions,
            "scale_dropout": scale_dropout,
            "activation_dropout": activation_dropout,
            "scale_encoder_attention_dropout": scale_encoder_attention_dropout,
            "normalize_before": normalize_before,
        }
        if sampling == "fixed":
            if arch is None:
                raise ConfigError("sampling=fixed needs an architecture (arch=<yaml>)")
            fixed = self.space.from_hat(dict(arch))
            self.model: Transformer = Transformer(
                ModelShape.of(fixed, vocab_size, self.space.qkv_dim),
                fixed,
                reference_widths=space_widths(self.space),
                **common,
            )
        else:
            self.model = build_supernet(supernet, self.space, vocab_size, **common)
            self.extremes()  # an arbitrary attention outside the space fails here
        self.schedule = Schedule(max_lr, init_lr, min_lr, warmup_steps, total_steps, schedule)

    # ---- which sub-networks run -------------------------------------------------------------
    @property
    def is_supernet(self) -> bool:
        return isinstance(self.model, SuperTransformer)

    def step_archs(self, step: int) -> list[Architecture]:
        """The architectures trained at ``step`` (same on every rank, reproducible)."""
        hp = self.hparams
        if not self.is_supernet:
            return [self.model.arch]
        rng = np.random.default_rng([int(hp.seed), int(step)])
        largest, smallest = self.extremes()
        if hp.sampling == "largest":
            return [largest]
        if hp.sampling == "sandwich":
            return [largest, smallest, *self.space.sample(rng, int(hp.num_random))]
        return [self.space.sample(rng)]

    def extremes(self) -> tuple[Architecture, Architecture]:
        """The largest and smallest sub-networks trained by sandwich and validated.

        Their arbitrary attention is ``extreme_arbitrary_ende_attn`` (HAT's
        ``largest_arbitrary1``/``smallest_arbitrary1``: 1); None is llmpp's option, -1.
        """
        arbitrary = self.hparams.get("extreme_arbitrary_ende_attn")
        return self.space.largest(arbitrary), self.space.smallest(arbitrary)

    def run_arch(self, arch: Architecture) -> Transformer:
        """The model with ``arch`` active (the supernet in place; a fixed model as is)."""
        if self.is_supernet:
            self.model.set_arch(arch)
        return self.model

    # ---- Lightning hooks ------------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        total = None
        nll_sum, tokens = 0.0, 0
        for arch in self.step_archs(self.global_step):
            logits = self.run_arch(arch)(batch["src"], batch["tgt_in"])
            loss, nll, n = label_smoothed_loss(
                logits, batch["tgt_out"], self.hparams.label_smoothing
            )
            per_token = loss / max(n, 1)
            total = per_token if total is None else total + per_token
            nll_sum, tokens = nll_sum + float(nll.detach()), tokens + n
        self.log("train/loss", total, prog_bar=True, on_step=True, batch_size=tokens)
        self.log("train/nll", nll_sum / max(tokens, 1), on_step=True, batch_size=tokens)
        self.log("train/tokens", float(tokens), on_step=True, reduce_fx="sum", batch_size=1)
        self.log("lr", self.schedule.lr(self.global_step), on_step=True, batch_size=1)
        return total

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        largest, smallest = self.extremes()
        archs = {"largest": largest, "smallest": smallest}
        if not self.is_supernet:
            archs = {"arch": self.model.arch}
        for label, arch in archs.items():
            model = self.run_arch(arch)
            logits = model(batch["src"], batch["tgt_in"])
            smoothed, nll, n = label_smoothed_loss(
                logits, batch["tgt_out"], self.hparams.label_smoothing
            )
            # The first one is what checkpointing monitors ("val/loss").
            name = "val/loss" if label in ("largest", "arch") else f"val/loss_{label}"
            self.log(
                name, nll / max(n, 1), prog_bar=name == "val/loss", batch_size=n, sync_dist=True
            )
            if label in ("largest", "arch"):  # the criterion, as fairseq picks its best
                self.log("val/label_smoothed_loss", smoothed / max(n, 1), batch_size=n,
                         sync_dist=True)

    def configure_optimizers(self):
        hp = self.hparams
        # One fused kernel over all parameters (CPU and CUDA): the same update as the
        # per-tensor loop to float rounding, in a quarter of its time on a CPU.
        optimizer = torch.optim.Adam(
            self.parameters(), lr=hp.max_lr, betas=tuple(hp.betas), weight_decay=hp.weight_decay,
            fused=fused_adam_supported(self.parameters()),
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": self.schedule.scheduler(optimizer), "interval": "step"},
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["llmpp"] = {
            "space_hash": self.space_hash,
            "space_name": self.space.name,
            "space_spec": self.space.spec(),
            "task": self.hparams.task,
        }

    # ---- loading ----------------------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, path: str | Path, map_location: str = "cpu") -> TranslationModule:
        """Rebuild a module from a checkpoint of ``llmpp supernet`` or ``llmpp retrain``."""
        try:
            checkpoint = torch.load(str(path), map_location=map_location, weights_only=False)
            module = cls(**checkpoint["hyper_parameters"])
            module.load_state_dict(checkpoint["state_dict"])
        except FileNotFoundError:
            raise DataNotFoundError(
                f"checkpoint {path} does not exist; train one with llmpp supernet"
            ) from None
        except (KeyError, RuntimeError, OSError, EOFError, pickle.UnpicklingError) as exc:
            raise CorruptFileError(
                f"{path} is not an llmpp checkpoint ({str(exc)[:120]})"
            ) from None
        return module.eval()

    # ---- inherited-weight evaluation -----------------------------------------------------
    def subnet_loss(self, arch: Architecture, batches) -> float:
        """Validation loss of ``arch`` with inherited weights (or of the fixed model)."""
        model = self.run_arch(self.space.validate(arch)) if self.is_supernet else self.model
        return evaluate_loss(model, batches)
