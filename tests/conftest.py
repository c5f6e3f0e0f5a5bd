"""Shared fixtures: offline environment, the gold data copy, small search spaces."""

from __future__ import annotations

import os
from pathlib import Path

# As in llmpp.cli: passive OpenMP waiting, set before anything imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# LLMPP_TEST_GOLD_ROOT: where the tests run from a copy of the repository (mutation
# testing runs them inside mutants/), the gold data is not beside the checkout.
GOLD_ROOT = Path(
    os.environ.get("LLMPP_TEST_GOLD_ROOT") or ROOT.parent / "shared" / "llmas" / "data"
).resolve()
HAT_ROOT = Path(
    os.environ.get("LLMPP_TEST_HAT_ROOT") or ROOT.parent / "shared" / "hat"
).resolve()  # HAT's released latency data


@pytest.fixture(autouse=True)
def offline_env(tmp_path_factory, monkeypatch):
    """No test may use the network, W&B's servers or the user's real cache."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("LLMPP_CACHE_DIR", str(tmp_path_factory.mktemp("llmpp-cache")))
    wandb_home = tmp_path_factory.mktemp("wandb-home")  # W&B's staging and settings
    for var in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(var, str(wandb_home / var.lower()))
    monkeypatch.delenv("LLMPP_BENCHMARK_ROOT", raising=False)
    # HAT's measured targets read the shared copy, never the network.
    monkeypatch.setenv("LLMPP_HAT_ROOT", str(HAT_ROOT))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield


@pytest.fixture(scope="session")
def gold_root() -> Path:
    if not GOLD_ROOT.is_dir():
        pytest.fail(f"the gold data copy is expected at {GOLD_ROOT} (../shared/llmas/data)")
    return GOLD_ROOT


@pytest.fixture(scope="session")
def hat_root() -> Path:
    if not (HAT_ROOT / "SHA256SUMS").is_file():
        pytest.fail(f"HAT's latency data copy is expected at {HAT_ROOT} (../shared/hat)")
    return HAT_ROOT


@pytest.fixture(scope="session")
def conf_dir() -> Path:
    return ROOT / "conf"


@pytest.fixture
def compose():
    """``compose(stage, overrides)``: a stage's config via Hydra's compose API."""
    from llmpp.config import compose

    return compose


@pytest.fixture(scope="session")
def mini_space():
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    return instantiate(OmegaConf.load(ROOT / "conf" / "space" / "hat_mini.yaml"))


@pytest.fixture(scope="session")
def paper_space():
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    return instantiate(OmegaConf.load(ROOT / "conf" / "space" / "hat_space0.yaml"))


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)


os.environ.setdefault("WANDB_MODE", "offline")
