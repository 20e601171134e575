# zkmargin: `make demo` and `make test` each set up everything they need
# (a Python venv with the package installed editable, and the pinned node toolchain
# installed by `zkmargin setup` with npm ci into the per-user data directory).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP   := $(VENV)/.zkmargin-installed
NODE_STAMP := $(VENV)/.zkmargin-node

.PHONY: setup demo test test-fast lint fidelity bench bench-crash typecheck clean distclean

setup: $(PY_STAMP) $(NODE_STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "zkmargin needs Python >= 3.11 (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)

$(PY_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json $(PY_STAMP)
	$(BIN)/zkmargin setup
	@touch $@

demo: setup
	$(BIN)/zkmargin demo

# CI's command: lint, types, then every test (real circom, snarkjs, proofs, EVMs)
test: setup lint
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -n 2 --dist loadfile

# no node, no circuit builds: the library, parsers, models and native engines (< 2 minutes)
test-fast: $(PY_STAMP)
	$(BIN)/python -m pytest -m "not slow and not node" -q

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fidelity: setup
	ZKMARGIN_FIDELITY=full $(BIN)/python -m pytest tests/fidelity -q

bench: setup
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/onchain.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/scale.py --readme
	$(BIN)/python benchmarks/ray_scan.py
	$(BIN)/python benchmarks/pool_gas.py --json benchmarks/pool_gas.json
	$(BIN)/python benchmarks/pool_gas.py --readme --json benchmarks/pool_gas.json

# the crash scenario of issue #15 on anvil (N = 200 positions: about 25 minutes of setup)
bench-crash: setup
	$(BIN)/python benchmarks/crash.py --positions 200 --json benchmarks/crash_results.json
	$(BIN)/python benchmarks/crash.py --readme --json benchmarks/crash_results.json

typecheck: setup
	$(BIN)/python -m mypy

clean:
	rm -rf demo-out dist build .pytest_cache .mypy_cache .ruff_cache .hypothesis

distclean: clean
	rm -rf $(VENV) node_modules *.egg-info
