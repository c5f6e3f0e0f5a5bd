"""The training step's speed changes keep its numerics: the CPU dropout mask, fused Adam."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from llmpp.models import layers
from llmpp.models.layers import apply_dropout
from llmpp.models.super_transformer import SuperTransformer
from llmpp.training.module import fused_adam_supported
from llmpp.training.objective import label_smoothed_loss


def test_dropout_is_the_identity_outside_training_and_at_zero():
    x = torch.randn(4, 8)
    assert apply_dropout(x, 0.3, False) is x
    assert apply_dropout(x, 0.0, True) is x


@pytest.mark.parametrize("p", [0.1, 0.3])
def test_cpu_dropout_drops_p_and_keeps_the_expectation(p):
    """A fraction p of independent elements dropped; the kept ones scaled to the same mean."""
    torch.manual_seed(0)
    x = torch.ones(1000, 1000)
    out = apply_dropout(x, p, True)
    dropped = out.eq(0)
    assert float(dropped.float().mean()) == pytest.approx(p, abs=3e-3)
    scale = out[~dropped].unique()
    assert scale.numel() == 1 and float(scale) == pytest.approx(1 / (1 - p), rel=1e-4)
    assert float(out.mean()) == pytest.approx(1.0, abs=5e-3)
    # Neighbours (the four 16-bit parts of one draw, or rows) are dropped independently.
    flat = dropped.flatten().float()
    for lag in (1, 2, 3, 4, 1000):
        both = float((flat[:-lag] * flat[lag:]).mean())
        assert both == pytest.approx(p * p, abs=3e-3), lag


def test_cpu_dropout_gradient_is_its_mask():
    torch.manual_seed(1)
    x = torch.randn(64, 33, requires_grad=True)  # numel not a multiple of 4
    out = apply_dropout(x, 0.2, True)
    out.sum().backward()
    expected = torch.where(out.eq(0), 0.0, out.detach() / x.detach())
    torch.testing.assert_close(x.grad, expected)


def test_dropout_off_cpu_is_torchs(monkeypatch):
    calls = []

    def record(x, p, training):
        calls.append(p)
        return x

    monkeypatch.setattr(layers.F, "dropout", record)
    apply_dropout(torch.empty(3, 4, device="meta"), 0.1, True)
    assert calls == [0.1]


def test_eval_outputs_do_not_depend_on_the_dropout_implementation(mini_space, monkeypatch):
    """In eval mode (validation, BLEU, search scoring) the model's output is unchanged."""
    model = SuperTransformer(mini_space, 50).eval()
    src = torch.randint(4, 50, (3, 7))
    fast = model(src, src)
    import llmpp.models.transformer as transformer

    monkeypatch.setattr(layers, "apply_dropout", F.dropout)
    monkeypatch.setattr(transformer, "apply_dropout", F.dropout)
    torch.testing.assert_close(model(src, src), fast, rtol=0, atol=0)


def test_fused_adam_updates_as_the_per_tensor_loop(mini_space):
    """Steps of the training module's fused Adam agree with torch's reference loop.

    Key biases are left out: softmax ignores them, so their gradient is rounding noise
    that Adam normalises into lr-sized steps of either sign.
    """
    torch.manual_seed(0)
    model = SuperTransformer(mini_space, 50, dropout=0.0)
    twin = copy.deepcopy(model)
    src = torch.randint(4, 50, (4, 6))
    assert fused_adam_supported(model.parameters())
    opts = [
        torch.optim.Adam(m.parameters(), lr=2e-3, betas=(0.9, 0.98), fused=fused)
        for m, fused in ((model, True), (twin, False))
    ]
    for _ in range(3):
        for m, opt in zip((model, twin), opts, strict=True):
            loss, _, n = label_smoothed_loss(m(src, src), src, 0.1)
            (loss / n).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
    for (name, a), b in zip(model.state_dict().items(), twin.state_dict().values(), strict=True):
        if not name.endswith("k_proj.bias"):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)


def test_training_module_uses_fused_adam(mini_space):
    from llmpp.training.module import TranslationModule

    module = TranslationModule(space_name="hat_mini", space_spec=mini_space.spec(),
                               vocab_size=50)
    optimizer = module.configure_optimizers()["optimizer"]
    assert optimizer.defaults["fused"] is True


def test_freed_host_memory_is_retained_where_glibc_allows(monkeypatch):
    """mallopt is called with both thresholds, once per process."""
    from llmpp.training import host_memory

    calls = []

    def mallopt(param, value):
        calls.append((param, value))
        return 1

    class FakeLibc:
        def __init__(self) -> None:
            self.mallopt = mallopt

    monkeypatch.setattr(host_memory, "_done", False)
    monkeypatch.setattr(host_memory.sys, "platform", "linux")
    monkeypatch.setattr(host_memory.ctypes, "CDLL", lambda name: FakeLibc())
    assert host_memory.retain_freed_memory() and host_memory.retain_freed_memory()
    assert sorted(calls) == [
        (host_memory.M_MMAP_THRESHOLD, host_memory.MMAP_THRESHOLD),
        (host_memory.M_TRIM_THRESHOLD, host_memory.TRIM_THRESHOLD),
    ]
    monkeypatch.setattr(host_memory, "_done", False)
    monkeypatch.setattr(host_memory.sys, "platform", "darwin")
    assert host_memory.retain_freed_memory() is False


def test_the_training_stages_trainer_retains_freed_memory(tmp_path, monkeypatch):
    from omegaconf import OmegaConf

    from llmpp.training import runner

    called = []
    monkeypatch.setattr(runner, "retain_freed_memory", lambda: called.append(True))
    cfg = OmegaConf.create({"_target_": "lightning.pytorch.Trainer", "max_steps": 1,
                            "accelerator": "cpu", "logger": False})
    runner.build_trainer(cfg, out_dir=tmp_path)
    assert called == [True]
