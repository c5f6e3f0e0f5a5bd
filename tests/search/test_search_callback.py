"""``SearchCallback`` runs the configured search from inside ``Trainer.fit``."""

from __future__ import annotations

import json

import lightning as L
import torch
from search_driver import toy_config

from llmpp.search.callback import SearchCallback


class TinyModule(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self):
        data = torch.utils.data.TensorDataset(torch.randn(8, 2))
        return torch.utils.data.DataLoader(data, batch_size=4)


def test_search_callback_after_fit_and_every_epoch(tmp_path):
    cfg = toy_config(["logger=none", "search=evolution", "search.iterations=2"])
    callback = SearchCallback(cfg=cfg, every_n_epochs=1)
    trainer = L.Trainer(max_epochs=2, default_root_dir=tmp_path, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        callbacks=[callback], accelerator="cpu")
    trainer.fit(TinyModule())
    runs = sorted(p.parent.name for p in (tmp_path / "search").glob("*/search.json"))
    assert runs == ["epoch_001", "epoch_002", "final"]
    final = json.loads((tmp_path / "search" / "final" / "search.json").read_text())
    assert final["algorithm"] == "evolution" and len(final["iterations"]) == 2
    assert (tmp_path / "search" / "final" / "supernet.ckpt").is_file()
    assert len(callback.results) == 3
