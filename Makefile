# sparsity-lab: every command of the README. `make help` lists them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help setup run test test-all bench mutation lint format clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)  ## create .venv and install the package with its dev extras (idempotent)

run: $(STAMP)  ## set up, then run the default study (quickstart)
	$(BIN)/sparsity-lab run $(ARGS)

test: $(STAMP)  ## set up, then run the test suite (slow tests excluded)
	$(BIN)/python -m pytest -q $(ARGS)

test-all: $(STAMP)  ## every test, slow ones included (what CI runs)
	$(BIN)/python -m pytest -q -m "" $(ARGS)

bench: $(STAMP)  ## speed ratios against the reference libraries
	$(BIN)/python -m benchmarks $(ARGS)

mutation: $(STAMP)  ## mutation testing of metrics.py and solvers.py (mutmut; long: JOBS=2)
	$(BIN)/mutmut run --max-children $(or $(JOBS),2)
	$(BIN)/mutmut results

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)  ## ruff fix and format
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

clean:  ## remove the environment and caches (results are kept)
	rm -rf $(VENV) .pytest_cache .ruff_cache build src/*.egg-info mutants
