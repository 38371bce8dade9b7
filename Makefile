# Two commands for a newcomer: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install dev lint format bench bench-match clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'

dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'

## Set up and run the whole pipeline on generated demo data (local Spark, files on disk).
demo: install
	$(BIN)/partnerkit demo

## Install the test extra, lint, and run the whole suite (two workers, a test file per turn).
test: dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/generate_bench.py

bench-match: dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/match_bench.py

clean:
	rm -rf $(VENV) partnerkit-demo .pytest_cache .ruff_cache *.egg-info
