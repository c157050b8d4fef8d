# The two commands of the README: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-quick clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
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
