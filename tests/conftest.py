"""Shared fixtures: offline environment, the gold data copy, small search spaces."""

from __future__ import annotations

import os
from pathlib import Path

# As in llmpp.cli: passive OpenMP waiting, set before anything imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _threads_per_worker() -> int | None:
    """Intra-op threads for one pytest-xdist worker: the CPUs shared out, at least one.

    Without it every worker (and every subprocess a test starts, which inherits the
    environment) would run one thread per CPU, and n workers would oversubscribe the
    machine n-fold. None when not running under xdist: a plain run keeps torch's default.
    """
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not workers:
        return None
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus // max(1, int(workers)))


_WORKER_THREADS = _threads_per_worker()
if _WORKER_THREADS is not None:  # before torch is imported, for this process and children
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = str(_WORKER_THREADS)

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


def pytest_configure(config):
    if _WORKER_THREADS is not None:  # in case a plugin imported torch before this file
        import torch

        torch.set_num_threads(_WORKER_THREADS)


# Tests of the corpus cache itself (building, locking, rebuilding stale or torn copies)
# start from an empty cache of their own.
_OWN_CORPUS_CACHE = (ROOT / "tests" / "data",)


@pytest.fixture(scope="session")
def shared_corpora(tmp_path_factory) -> Path:
    """The corpus cache (``<cache>/data``) shared by this test process's tests.

    A corpus is keyed by the hash of its content settings and published by an atomic
    rename under a lock, so a test that finds it built reads what it would have built;
    building the same tiny corpus (SentencePiece training, encoding processes) again for
    every test is what this saves.
    """
    return tmp_path_factory.mktemp("corpora")


@pytest.fixture(autouse=True)
def offline_env(request, tmp_path_factory, monkeypatch):
    """No test may use the network, W&B's servers or the user's real cache."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    cache = tmp_path_factory.mktemp("llmpp-cache")
    if not any(request.path.is_relative_to(own) for own in _OWN_CORPUS_CACHE):
        (cache / "data").symlink_to(request.getfixturevalue("shared_corpora"))
    monkeypatch.setenv("LLMPP_CACHE_DIR", str(cache))
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


# Modules that take most of a tier's time, longest first. pytest-xdist's `--dist loadscope`
# keeps a module on one worker and hands modules out by their number of tests, most first,
# so long modules of one or a few tests came last and one worker ran the longest of them
# alone at the end. These are handed out first instead (longest first, so the workers end
# close together); a module missing here only loses its place in the queue, never a test.
# Seconds: slow tier on two idle cores (`pytest -m slow --durations`, 2026-12-03); fast
# tier in one process on the shared, loaded machine (`pytest -n 0 --durations=0`, same
# day), so only their order matters. Each tier queues only the modules it selects.
LONG_MODULES = (
    # slow tier
    "tests/pipeline/test_chaos_pipeline.py",  # 119 s
    "tests/supernet/test_preemption.py",  # 101 s before its cut to two signalled runs
    "tests/pipeline/test_pipeline_run.py",  # 54 s
    "tests/llm/test_label_killed_orphans.py",  # 39 s
    "tests/pipeline/test_pipeline_concurrent.py",  # 35 s
    "tests/errors/test_full_disk_rerun.py",  # 17 s
    "tests/launchers/test_launch_submitit.py",  # 16 s
    # fast tier: modules of a few long tests
    "tests/pipeline/test_store_lock.py",  # 49 s, 2 tests
    "tests/distill/test_distill_stage.py",  # 46 s, 4 tests
    "tests/data/test_data_corpus.py",  # 39 s, 8 tests
    "tests/data/test_data_stage.py",  # 25 s, 4 tests
    "tests/hardware/test_hardware_predictor.py",  # 20 s, 4 tests
    "tests/hardware/test_latency_stage.py",  # 17 s, 5 tests
    "tests/distill/test_distill_model.py",  # 15 s, 6 tests
    "tests/search/test_search_resume.py",  # 14 s, 2 tests
)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist's: unknown without it
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadscope`` with ``LONG_MODULES`` first; other modes: xdist's own."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LongModulesFirst(LoadScopeScheduling):
        ordered = False

        def _assign_work_unit(self, node) -> None:
            if not self.ordered:  # the queue is complete at the first assignment
                self.ordered = True
                for scope in reversed(LONG_MODULES):
                    if scope in self.workqueue:
                        self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return LongModulesFirst(config, log)


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
