# Every target sets up what it needs on a fresh machine (Python 3.11 and nothing else).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint experiment clean

$(STAMP): pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[sim,offline,test]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

experiment: $(STAMP)
	$(BIN)/botify experiment

lint: $(STAMP)
	$(BIN)/ruff check botify sim offline tests bench
	$(BIN)/ruff format --check botify sim offline tests bench

clean:
	rm -rf $(VENV) .pytest_cache
