PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench run migrate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/handoff-bot demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto

# The gate on the pure core and the use cases: lint, and strict types.
lint: $(STAMP)
	$(BIN)/ruff check bot/core bot/services handlers
	$(BIN)/mypy bot/core bot/services

bench: $(STAMP)
	$(BIN)/python bench/ack_latency.py
	$(BIN)/python bench/scheduler_tick.py

run: $(STAMP)
	$(BIN)/handoff-bot run

migrate: $(STAMP)
	$(BIN)/handoff-bot migrate

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
