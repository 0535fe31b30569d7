# KneeTrack developer commands. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
BIN := .venv/bin
# The suite runs in parallel processes (pytest-xdist): each has its own databases, accounts
# and live servers on free ports (tests/conftest.py). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
# The suite's line coverage of app/ may not fall below this (`make check`, CI). Measured on
# SQLite alone, which PostgreSQL only adds to; raise it when coverage grows.
COVERAGE_FLOOR := 96
COVERAGE_ARGS = --cov=app --cov-report=term:skip-covered --cov-fail-under=$(COVERAGE_FLOOR)

help: ## List every command
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-18s %s\n", $$1, $$2}'

$(UV):
	@$(PYTHON) -m venv .tools
	@.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

sync: $(UV) ## Install the locked dependencies into .venv (done by every command below)
	@$(UV) sync --frozen --quiet

run: sync ## Start the API on the embedded SQLite database: http://127.0.0.1:8000/docs
	$(BIN)/kneetrack serve

demo: sync ## Load the demo data set (a clinician and three patients, 12 weeks)
	$(BIN)/kneetrack demo

test: sync ## Run the whole test suite (SQLite; PostgreSQL too when TEST_DATABASE_URL is set)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist load $(if $(COVERAGE),$(COVERAGE_ARGS)) $(PYTEST_ARGS)

reliability: sync ## Load and outage-under-load runs on PostgreSQL (needs TEST_DATABASE_URL; LOAD_SECONDS=60)
	KNEETRACK_LOAD_SECONDS=$${LOAD_SECONDS:-60} $(BIN)/pytest -m load -s -p no:warnings tests/test_load.py

lint: sync ## Lint with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check app

ts-client: ## Install the TypeScript client's pinned packages (its test runs it under strict tsc)
	cd clients/typescript && npm ci --no-audit --no-fund --silent

lint-openapi: ## Lint the committed openapi.json with Redocly and Spectral (npm packages pinned in clients/lint)
	cd clients/lint && npm ci --no-audit --no-fund --silent && npm run --silent redocly && npm run --silent spectral

types: sync ## Type-check with mypy (strict)
	$(BIN)/mypy

migrations-check: sync ## Migrate an empty SQLite database to head and check models match
	@tmp=$$(mktemp -d); \
	  DATABASE_URL=sqlite:///$$tmp/check.db $(BIN)/alembic upgrade head >/dev/null 2>&1 && \
	  DATABASE_URL=sqlite:///$$tmp/check.db $(BIN)/alembic check; \
	  rc=$$?; rm -rf $$tmp; exit $$rc

migration: sync ## Autogenerate a migration: make migration m="what changed"
	@tmp=$$(mktemp -d); \
	  DATABASE_URL=sqlite:///$$tmp/m.db $(BIN)/alembic upgrade head >/dev/null && \
	  DATABASE_URL=sqlite:///$$tmp/m.db $(BIN)/alembic revision --autogenerate -m "$(m)"; \
	  rm -rf $$tmp

screenshots: sync ## Re-take docs/dashboard-*.png in Chromium from the demo data (then look at them)
	KNEETRACK_SCREENSHOTS=1 $(BIN)/pytest -n 0 -p no:cacheprovider -k "screenshots and sqlite" tests/dashboard/test_e2e.py

openapi: sync ## Regenerate openapi.json (the committed OpenAPI document) from the code
	$(BIN)/kneetrack openapi

fmt: sync ## Format and autofix
	$(BIN)/ruff format app
	$(BIN)/ruff check --fix .

bench: sync bench-venv ## Benchmark against the ceilings on PostgreSQL (minutes; writes docs/BENCHMARKS.md)
	$(BIN)/python -m bench --replicas 2 --product-python .bench-venv/bin/python

bench-venv: $(UV) ## The product as the Dockerfile installs it (no dev packages) in .bench-venv, for `make bench`
	@UV_PROJECT_ENVIRONMENT=.bench-venv $(UV) sync --frozen --no-dev --quiet

bench-smoke: sync ## The benchmark's smoke run (seconds): tiny seed, 1 run of each scenario
	$(BIN)/python -m bench --quick --replicas 2

check: lint lint-openapi types migrations-check ## Lint, types, migrations check, tests with the coverage floor (CI)
	$(MAKE) --no-print-directory test COVERAGE=1

hooks: sync ## Install the git hooks: ruff, mypy, the commit-message check (.pre-commit-config.yaml)
	$(BIN)/pre-commit install

.PHONY: help sync run demo test reliability lint lint-openapi ts-client types migrations-check migration screenshots openapi fmt check hooks bench bench-venv bench-smoke
