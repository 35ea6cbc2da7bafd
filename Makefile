# One command per dev-loop step. `run` and `test` build the virtualenv on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint fmt bench snapshots schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "goalctl needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/goalctl validate scenarios
	$(BIN)/goalctl run --report-dir reports scenarios

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check goalctl tests benchmarks
	$(BIN)/ruff format --check goalctl tests benchmarks
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff check --fix goalctl tests benchmarks
	$(BIN)/ruff format goalctl tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

snapshots: $(STAMP)
	$(BIN)/python -m pytest -q --snapshot-update

schemas: $(STAMP)
	$(BIN)/goalctl schema --out schemas

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
