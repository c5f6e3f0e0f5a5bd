"""``llmpp supernet``: train the weight-sharing SuperTransformer with Lightning.

Writes Lightning checkpoints to ``<run dir>/checkpoints/`` (``last.ckpt`` is the one
``predictor=supernet`` loads) and ``supernet.json`` with the inherited-weight
validation loss and BLEU of the largest and smallest sub-networks.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from omegaconf import DictConfig

from llmpp.errors import ConfigError
from llmpp.stages.common import CONF_DIR, build, guarded, run_dir
from llmpp.training.evaluation import bleu_on_split, evaluate_loss
from llmpp.training.runner import build_datamodule, build_module, build_trainer, resume_path
from llmpp.utils.io import write_json

log = logging.getLogger(__name__)
SUBNETS = ("largest", "smallest")  # the sub-networks supernet.eval_archs may name


def evaluate_subnets(
    module, datamodule, names: list[str], *, bleu_limit: int | None, beam: int
) -> dict:
    """Inherited-weight valid loss and BLEU of named sub-networks (largest/smallest)."""
    out: dict[str, Any] = {}
    space = module.space
    for name in names:
        arch = {"largest": space.largest, "smallest": space.smallest}[name]()
        model = module.run_arch(arch)
        loss = evaluate_loss(model, datamodule.loader("valid", shuffle=False))
        bleu = bleu_on_split(model, datamodule, "valid", limit=bleu_limit, beam=beam)
        out[name] = {
            "arch": arch.to_hat(),
            "valid_loss": loss,
            "valid_BLEU": bleu.score,
            "bleu_signature": bleu.signature,
        }
    return out


def run_supernet(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    """Train (or resume) the supernet; returns the ``supernet.json`` payload."""
    started = time.perf_counter()
    L.seed_everything(int(cfg.seed), workers=True, verbose=False)
    space = build(cfg.space, "space")
    unknown = sorted(set(cfg.supernet.eval_archs) - set(SUBNETS))
    if unknown:  # checked now: they are evaluated only after training
        raise ConfigError(
            f"supernet.eval_archs: unknown {unknown}; choose from {', '.join(SUBNETS)}"
        )
    datamodule = build_datamodule(cfg)
    module = build_module(cfg, space)
    # Checked before the Trainer exists: a bad checkpoint fails with one line and no noise.
    ckpt = resume_path(cfg.supernet.get("resume", "auto"), out_dir)
    trainer = build_trainer(cfg, out_dir, every_n_steps=int(cfg.supernet.checkpoint_every_n_steps))
    if ckpt:
        log.info("resuming from %s", ckpt)
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt)
    last = out_dir / "checkpoints" / "last.ckpt"
    trainer.save_checkpoint(str(last))
    payload: dict[str, Any] = {
        "checkpoint": str(last),
        "space": space.name,
        "space_hash": space.hash(),
        "task": str(cfg.task.name),
        "steps": int(trainer.global_step),
        "resumed_from": ckpt,
    }
    if trainer.is_global_zero:
        datamodule.setup()
        payload["subnets"] = evaluate_subnets(
            module,
            datamodule,
            list(cfg.supernet.eval_archs),
            bleu_limit=cfg.supernet.get("eval_bleu_limit"),
            beam=int(cfg.supernet.beam),
        )
        payload["wall_seconds"] = time.perf_counter() - started
        write_json(out_dir / "supernet.json", payload)
    return payload


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="supernet")
@guarded
def main(cfg: DictConfig) -> None:
    out_dir = run_dir()
    payload = run_supernet(cfg, out_dir)
    for name, row in payload.get("subnets", {}).items():
        print(f"{name:>8}: valid loss {row['valid_loss']:.3f}  valid BLEU {row['valid_BLEU']:.2f}")
    print(f"\nwrote {payload['checkpoint']}")


if __name__ == "__main__":  # `python -m llmpp.stages.<stage>`; DDP re-launches this way
    main()
