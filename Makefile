# The README's commands. `make run` sets up and opens the chat at http://127.0.0.1:7860;
# `make test` sets up and runs both test tiers (CI calls it through .ci/run).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# A portable AVX2 build: -march=native turns on AMX kernels, which crash (SIGSEGV in
# ggml_backend_amx_mul_mat) on the AMX-capable Xeons of our VMs.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

.PHONY: install install-models run index test fast lint clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first and pinned: it takes the CPU build on disk instead of a multi-GB CUDA one.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[dev]'
	touch $@

$(VENV)/.models: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -e '.[dev,models]'
	touch $@

install: $(VENV)/.installed

install-models: $(VENV)/.models

indexes/default/manifest.json: | $(VENV)/.installed
	$(BIN)/rag index seeds

index: indexes/default/manifest.json

# The chat indexes seeds/ itself when the index is missing or empty.
run: install-models
	$(BIN)/rag chat

fast: install
	$(BIN)/pytest -q -m "not integration"

lint: install
	$(BIN)/ruff check rag tests
	$(BIN)/ruff format --check rag tests
	$(BIN)/mypy rag

# The browser test drives Debian's chromium; install it when it is missing (CI runs as root).
chromium:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

test: install lint chromium
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) indexes/default

# Speed at scale against same-run baselines: about 20 min on an idle 2-core machine (far more
# under load); BENCH_FLAGS=--quick for about 6.
# Needs ../shared/corpora/bbc, read in place. Writes benchmarks/results/bench-DATE.json.
.PHONY: bench
bench: install-models
	$(BIN)/python benchmarks/bench.py $(BENCH_FLAGS)
