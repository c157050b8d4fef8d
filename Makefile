# The two commands of the README: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# make run installs what running needs; make test adds the development tools
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed-dev

.PHONY: run test lint bench bench-quick clean

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/smsrelay serve

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

# Benchmarks (bench/run.py; docs/performance.md). bench-quick: under a minute, SQLite, no soak.
# bench: 20,000 messages per scenario and a 10-minute soak, on SQLite and PostgreSQL
# (BENCH_DB=sqlite to skip PostgreSQL; BENCH_ARGS for more, e.g. --soak-seconds 120).
BENCH_DB ?= both
BENCH_ARGS ?=

bench-quick: $(STAMP)
	$(BIN)/python bench/run.py --quick $(BENCH_ARGS)

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/run.py --database $(BENCH_DB) $(BENCH_ARGS); status=$$?; \
	$(BIN)/python bench/chart.py $$(ls -t bench/results/*-summary.json | head -1); \
	exit $$status

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
