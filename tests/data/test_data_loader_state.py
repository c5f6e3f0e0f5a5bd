"""The training loader's position in its epoch: saved in a checkpoint, restored by a fresh run."""

from types import SimpleNamespace

import pytest
import torch
from helpers_data import tiny_task

from llmpp.data.datamodule import TranslationDataModule


def _dm(epoch: int) -> TranslationDataModule:
    dm = TranslationDataModule(tiny_task(), seed=7, max_tokens=200, build_workers=1)
    dm.prepare_data()
    dm.setup()
    # What the datamodule reads from Lightning's trainer while it trains.
    dm.trainer = SimpleNamespace(training=True, current_epoch=epoch, global_rank=0, world_size=1)
    return dm


def _ids(batch) -> tuple:
    return tuple(map(tuple, batch["src"].tolist()))


@pytest.mark.parametrize("state_before_loader", [True, False])
def test_state_round_trip_continues_the_epoch_after_the_consumed_batches(state_before_loader):
    epoch, consumed = 2, 3
    first = _dm(epoch)
    full = [_ids(b) for b in first.train_dataloader()]
    assert len(full) > consumed + 2
    batches = iter(first.train_dataloader())
    seen = [_ids(first.on_before_batch_transfer(next(batches), 0)) for _ in range(consumed)]
    state = first.state_dict()
    assert state["sampler"] == {"epoch": epoch, "consumed": consumed}

    # A restarted process: Lightning loads the checkpoint's datamodule state either
    # before or after it asked for the training loader.
    resumed = _dm(epoch)
    if state_before_loader:
        resumed.load_state_dict(state)
        loader = resumed.train_dataloader()
    else:
        loader = resumed.train_dataloader()
        resumed.load_state_dict(state)
    rest = [_ids(b) for b in loader]
    assert seen + rest == full
    assert [_ids(b) for b in loader] == full  # the skip applies to the interrupted pass only


def test_starting_the_loaders_draws_nothing_from_torchs_generator():
    """A resumed run starts one more iterator than the uninterrupted one: it must not
    shift the random state that dropout draws from (``llmpp.training.rng_state``)."""
    dm = _dm(0)
    before = torch.get_rng_state()
    for loader in (dm.train_dataloader(), dm.val_dataloader()):
        next(iter(loader))
    assert torch.equal(torch.get_rng_state(), before)
