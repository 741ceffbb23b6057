# llm-gateway — every command installs into .venv first when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint typecheck bench soak install clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

install: $(STAMP)

# With no provider key (in the environment or .env), serve the built-in simulated provider.
run: $(STAMP)
	@if [ -z "$$OPENROUTER_API_KEY" ] && ! grep -qs '^OPENROUTER_API_KEY=..' .env; then \
		export GATEWAY_SIMULATE=$${GATEWAY_SIMULATE:-true}; fi; \
	exec $(BIN)/llm-gateway serve

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

bench: $(BENCH_STAMP)
	$(BIN)/llm-gateway bench

soak: $(BENCH_STAMP)
	$(BIN)/llm-gateway bench --soak

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
