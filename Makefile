PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-postgres lint bench run migrate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/handoff-bot demo

# One xdist worker per core, handed tests one at a time (--maxschedchunk 1) rather than in long
# consecutive runs: the tests marked slow (real processes, real waits) are ordered first by
# tests/conftest.py, so they spread over the workers and overlap with the rest.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist load --maxschedchunk 1

# The database tests on PostgreSQL: the server at HANDOFF_TEST_POSTGRES, or else the one .ci/postgres
# starts on this machine (it prints the URL, or says why it cannot). Every test that takes `db_url` gets a
# database of its own there; the rest only repeat the SQLite pass and are deselected (tests/conftest.py).
# Under CI=true a server that will not start fails the run; elsewhere the pass is skipped with the reason.
test-postgres: $(STAMP)
	@url=$${HANDOFF_TEST_POSTGRES:-$$(.ci/postgres)} || { if [ "$${CI:-}" = true ]; then echo "test-postgres: PostgreSQL did not start" >&2; exit 1; \
		else echo "test-postgres: SKIPPED, PostgreSQL did not start (see above)" >&2; exit 0; fi; }; \
	HANDOFF_TEST_POSTGRES=$$url $(BIN)/python -m pytest -q -n auto --dist load --maxschedchunk 1

# The gate on the pure core and the use cases: lint, and strict types.
lint: $(STAMP)
	$(BIN)/ruff check bot/core bot/services handlers
	$(BIN)/mypy bot/core bot/services

bench: $(STAMP)
	$(BIN)/python bench/ack_latency.py
	$(BIN)/python bench/scheduler_tick.py
	$(BIN)/python bench/stats.py

run: $(STAMP)
	$(BIN)/handoff-bot run

migrate: $(STAMP)
	$(BIN)/handoff-bot migrate

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
