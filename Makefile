# One command per dev-loop step. `run` and `test` build the virtualenv on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
WORKFLOWS := $(wildcard .github/workflows/*.yml)

.PHONY: run test test-browser lint fmt bench snapshots schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "goalctl needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# The example agents (examples/agents) run `python3` from PATH: the virtualenv's, as when it
# is activated, so that they find the anthropic and openai SDKs.
run: $(STAMP)
	$(BIN)/goalctl validate scenarios
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/goalctl run --report-dir reports scenarios

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The HTML report and the history site in headless Chromium from the distribution
# (/usr/bin/chromium; apt-get install chromium), never a browser playwright downloads.
# tests/browser is collected only when named, so `make test` needs no browser.
test-browser: $(STAMP)
	$(BIN)/python -m pytest -q tests/browser

lint: $(STAMP)
	$(BIN)/ruff check goalctl tests benchmarks examples
	$(BIN)/ruff format --check goalctl tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/mypy --strict examples/agents
	$(BIN)/actionlint -shellcheck $(BIN)/shellcheck $(WORKFLOWS)
	$(BIN)/zizmor --offline --no-progress $(WORKFLOWS) action.yml

fmt: $(STAMP)
	$(BIN)/ruff check --fix goalctl tests benchmarks examples
	$(BIN)/ruff format goalctl tests benchmarks examples

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

snapshots: $(STAMP)
	$(BIN)/python -m pytest -q --snapshot-update

schemas: $(STAMP)
	$(BIN)/goalctl schema --out schemas

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
