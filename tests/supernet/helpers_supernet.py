"""Tiny settings shared by the supernet tests (imported by path-unique name)."""

TINY_TASK = [
    "task=synthetic_en_de",
    "space=hat_mini",
    "task.vocab_size=200",
    "task.data.sizes.train=300",
    "task.data.sizes.valid=16",
    "task.data.sizes.test=16",
    "logger=none",
    "data.max_tokens=512",
    "data.valid_limit=null",
    "trainer.enable_progress_bar=false",
    "trainer.accelerator=cpu",
    "optim.warmup_steps=2",
]
