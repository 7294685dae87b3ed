# Every target sets up what it needs on a fresh machine (Python 3.11 and nothing else).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PACKAGES := botify sim offline lab
SOURCES := $(PACKAGES) tests bench

.PHONY: install test check lint typecheck experiment coverage clean

$(STAMP): pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[sim,offline,test]'
	touch $(STAMP)

install: $(STAMP)

# What CI runs: lint, format, types, then the tests; any of them failing fails the target.
test: check
	$(BIN)/python -m pytest -q

check: lint typecheck

lint: $(STAMP)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)

typecheck: $(STAMP)
	$(BIN)/mypy

# The tests with line coverage of the four packages (in the test process and the processes it
# starts); the figure is the report's last line.
coverage: $(STAMP)
	$(BIN)/python -m pytest -q --cov --cov-report=term:skip-covered

experiment: $(STAMP)
	$(BIN)/botify experiment

clean:
	rm -rf $(VENV) .pytest_cache
