"""The datamodule over the memory-mapped corpus: batches, DDP ranks, workers, mid-epoch resume."""

from collections import Counter
from types import SimpleNamespace

import lightning as L
import pytest
import sentencepiece as spm
import torch
from helpers_data import greedy_batches, tiny_task

from llmpp.data.datamodule import TranslationDataModule
from llmpp.data.sources import load_pairs


def _dm(**kwargs):
    kwargs = {"max_tokens": 200, "eval_max_tokens": 150, "build_workers": 1, **kwargs}
    dm = TranslationDataModule(tiny_task(), seed=7, **kwargs)
    dm.prepare_data()
    dm.setup()
    return dm


def _rows(batch):
    """The (source ids, target ids) pairs of a padded batch, specials removed."""
    out = []
    for src, tgt in zip(batch["src"].tolist(), batch["tgt_out"].tolist(), strict=True):
        out.append((tuple(src[: src.index(3)]), tuple(tgt[: tgt.index(3)])))
    return tuple(out)


def _direct(dm, split):
    sp = spm.SentencePieceProcessor(model_file=str(dm.corpus.spm_path))
    return [(tuple(sp.encode(s)), tuple(sp.encode(t))) for s, t in load_pairs(dm.task)[split]]


def test_batches_equal_batching_the_directly_encoded_corpus():
    dm = _dm()
    pairs = _direct(dm, "valid")
    costs = [max(len(s), len(t)) + 1 for s, t in pairs]
    expected = [tuple(pairs[i] for i in b) for b in greedy_batches(costs, 150)]
    assert [_rows(b) for b in dm.val_dataloader()] == expected
    train = _direct(dm, "train")
    epoch = [_rows(b) for b in dm.train_dataloader()]
    assert Counter(p for b in epoch for p in b) == Counter(train)
    assert all(len(b) * max(max(len(s), len(t)) + 1 for s, t in b) <= 200 for b in epoch)


def test_source_batches_and_references_for_bleu():
    dm = _dm(valid_limit=12)
    assert len(dm.split("valid")) == 12
    rows = []
    for src, chosen in dm.source_batches("valid", limit=9):
        assert src.shape[0] == len(chosen)
        rows += chosen
    assert sorted(rows) == list(range(9))
    assert dm.references("valid", 3) == [t for _, t in load_pairs(dm.task)["valid"][:3]]


def test_ranks_get_disjoint_batches_through_the_trainer():
    dm = _dm()
    seen = []
    for rank in (0, 1):
        dm.trainer = SimpleNamespace(global_rank=rank, world_size=2, current_epoch=0)
        seen.append({p for b in dm.train_dataloader() for p in _rows(b)})
    assert seen[0] and seen[1] and not seen[0] & seen[1]


def test_dataloader_workers_read_the_same_memory_map():
    dm = _dm(num_workers=2)
    in_workers = sorted(_rows(b) for b in dm.val_dataloader())
    dm.num_workers = 0
    assert in_workers == sorted(_rows(b) for b in dm.val_dataloader())


class Recorder(L.LightningModule):
    """Trains nothing useful; records every training batch it is given."""

    def __init__(self, stop_at: int | None = None, ckpt: str | None = None):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))
        self.seen: list = []
        self.stop_at, self.ckpt = stop_at, ckpt

    def training_step(self, batch, batch_idx):
        self.seen.append(_rows(batch))
        return (self.w * batch["src"].float().mean()).sum()

    def on_train_batch_end(self, outputs, batch, batch_idx):
        if self.stop_at is not None and self.global_step == self.stop_at:
            self.trainer.save_checkpoint(self.ckpt)
            raise RuntimeError("killed")  # the job dies right after its checkpoint

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)


def _fit(module, ckpt_path=None, **dm_kwargs):
    trainer = L.Trainer(
        max_epochs=2,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,
    )
    trainer.fit(module, datamodule=_dm(**dm_kwargs), ckpt_path=ckpt_path)
    return module.seen


# (DataLoader workers, where the job dies: batches into the second epoch; 0 = the
# last batch of the first epoch, whose checkpoint must resume at the next epoch)
@pytest.mark.parametrize(("num_workers", "into_second"), [(0, 3), (2, 3), (0, 0)])
def test_mid_epoch_resume_continues_with_the_batches_not_yet_seen(
    tmp_path, num_workers, into_second
):
    full = _fit(Recorder(), num_workers=num_workers)
    per_epoch = len(full) // 2
    assert per_epoch > 4 and full[:per_epoch] != full[per_epoch:]
    stop = per_epoch + into_second
    ckpt = str(tmp_path / "mid.ckpt")
    first = Recorder(stop_at=stop, ckpt=ckpt)
    with pytest.raises(RuntimeError, match="killed"):
        _fit(first, num_workers=num_workers)
    assert first.seen == full[:stop]
    rest = _fit(Recorder(), ckpt_path=ckpt, num_workers=num_workers)
    assert first.seen + rest == full
