PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench run migrate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/handoff-bot demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/ack_latency.py
	$(BIN)/python bench/scheduler_tick.py

run: $(STAMP)
	$(BIN)/handoff-bot run

migrate: $(STAMP)
	$(BIN)/handoff-bot migrate

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
