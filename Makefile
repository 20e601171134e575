# zkmargin: `make demo` and `make test` each set up everything they need
# (a Python venv with the package installed editable, and `npm ci`).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP   := $(VENV)/.zkmargin-installed
NODE_STAMP := node_modules/.zkmargin-installed

.PHONY: setup demo test bench typecheck clean distclean

setup: $(PY_STAMP) $(NODE_STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "zkmargin needs Python >= 3.11 (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)

$(PY_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

demo: setup
	$(BIN)/zkmargin demo

test: setup
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/onchain.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/scale.py --readme

typecheck: setup
	$(BIN)/python -m mypy

clean:
	rm -rf demo-out .pytest_cache .mypy_cache .hypothesis

distclean: clean
	rm -rf $(VENV) node_modules *.egg-info
