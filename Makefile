# Every target sets up what it needs on a fresh machine (Python 3.11 and nothing else).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PACKAGES := botify sim offline lab
SOURCES := $(PACKAGES) tests bench homework analyze_ab.py

# The course's homework (homework/README.md): the grader runs `make setup`, then
# `make run SEED=... EPISODES=... DATA_DIR=...`, and reads $(DATA_DIR)/ab_result.json.
SEED ?= 31312
EPISODES ?= 30000
DATA_DIR ?= runs/homework/result
HOMEWORK_CONFIG ?= homework/config.json
HOMEWORK_RUNS ?= runs/homework
# The simulated world (botify's, in data/ like `make experiment`'s): the same for every SEED.
WORLD_SEED ?= 42
WORLD_DIR ?= data

.PHONY: install setup run test check lint typecheck experiment coverage clean

$(STAMP): pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[sim,offline,test,spark]'
	touch $(STAMP)

install: $(STAMP)

setup: $(STAMP)

# Two days over HTTP (botify experiment): day 1 on the control's chain with nothing learned yet,
# the item-to-item lists trained on it, day 2 the A/B test of homework/config.json with
# $(EPISODES) sessions; day 2's logs in the course's layout in $(DATA_DIR), then the grader's
# ab_result.json beside them. Each request's random picks are seeded from SEED (config `seed`).
run: $(STAMP)
	BOTIFY_SEED=$(SEED) $(BIN)/botify experiment --config $(HOMEWORK_CONFIG) \
		--sessions $(EPISODES) --seed $(SEED) --world-seed $(WORLD_SEED) --world $(WORLD_DIR) \
		--out $(HOMEWORK_RUNS)
	$(BIN)/botify collect $(DATA_DIR) --replace --from $(HOMEWORK_RUNS)/latest/logs/day2
	$(BIN)/python analyze_ab.py --data $(DATA_DIR) --output $(DATA_DIR)/ab_result.json

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

# What setup and run made; the world in data/ stays (the same from WORLD_SEED, made again in
# seconds; `make experiment` uses it too).
clean:
	rm -rf $(VENV) .pytest_cache $(HOMEWORK_RUNS) $(DATA_DIR)
