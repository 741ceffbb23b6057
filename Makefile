# llm-gateway — every command installs into .venv first when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Dependencies are pinned in requirements/*.lock (`make lock` regenerates them from pyproject.toml).
LOCK := requirements/dev.lock
BENCH_LOCK := requirements/bench.lock
# What the container image installs (deploy/Dockerfile): the runtime dependencies, with hashes.
RUNTIME_LOCK := requirements/runtime.lock
DEPLOY_LOCK := requirements/deploy-tools.lock

.PHONY: run example test check lint typecheck audit lock bench soak faults bounds install deploy-tools clean

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP) $(BENCH_LOCK)
	$(BIN)/python -m pip install --quiet -r $(BENCH_LOCK)
	@touch $(BENCH_STAMP)

install: $(STAMP)

# The Helm chart's renderer for tests/deploy/test_helm_chart.py (skipped without it or a helm).
DEPLOY_STAMP := $(VENV)/.installed-deploy-tools

$(DEPLOY_STAMP): $(STAMP) $(DEPLOY_LOCK)
	$(BIN)/python -m pip install --quiet -r $(DEPLOY_LOCK)
	@touch $(DEPLOY_STAMP)

deploy-tools: $(DEPLOY_STAMP)

lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --python-version 3.11 -o $(LOCK)
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --extra bench --python-version 3.11 \
		-o $(BENCH_LOCK)
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --extra deploy-tools --python-version 3.11 \
		-c $(LOCK) -o $(DEPLOY_LOCK)
	$(BIN)/uv pip compile --quiet pyproject.toml --generate-hashes --python-version 3.11 \
		-c $(LOCK) -o $(RUNTIME_LOCK)

# Known vulnerabilities of every pinned package (PyPI's advisory data; pins it has no record of
# are listed as not audited).
audit: $(STAMP)
	$(BIN)/pip-audit --progress-spinner off --no-deps --disable-pip -r $(LOCK) -r $(BENCH_LOCK) -r $(DEPLOY_LOCK)

# With no provider key (in the environment or .env), serve the built-in simulated provider.
run: $(STAMP)
	@if [ -z "$$OPENROUTER_API_KEY" ] && ! grep -qs '^OPENROUTER_API_KEY=..' .env; then \
		export GATEWAY_SIMULATE=$${GATEWAY_SIMULATE:-true}; fi; \
	exec $(BIN)/llm-gateway serve

# examples/writing_pipeline: a LangGraph graph of node clients on the in-process gateway, served
# by the built-in simulator (no server, no key); prints each node's model and exact cost.
example: $(STAMP)
	GATEWAY_SIMULATE=true $(BIN)/python -m examples.writing_pipeline

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests examples
	$(BIN)/ruff format --check src tests examples

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck audit test

bench: $(BENCH_STAMP)
	$(BIN)/llm-gateway bench

soak: $(BENCH_STAMP)
	$(BIN)/llm-gateway bench --soak

# The fault scorecard with realistic waits (several minutes); rewrites docs/reliability.md.
# The quick form runs inside `make test` (tests/faults/).
faults: $(STAMP)
	$(BIN)/llm-gateway faults --full --write

# Redis stays bounded over 100,000 requests (the quick form, 1,000, runs inside `make test`).
bounds: $(STAMP)
	GATEWAY_BOUNDS_REQUESTS=100000 $(BIN)/python -m pytest -p no:randomly \
		tests/state/test_redis_bounds_served.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
