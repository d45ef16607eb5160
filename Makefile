# Entry points: `make demo`, `make test-unit`, `make test`, `make check`, `make bench`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-unit check lint typecheck bench system-deps supabase-cli clean

$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

install: $(STAMP) ## create .venv with the package and its development tools

demo: install ## the main job on the embedded PostgreSQL: two overlapping runs, one wins
	env -u DATABASE_URL $(BIN)/python -m assignment_reminders.dev.demo

test-unit: install ## the unit tests alone: no PostgreSQL, no network, no processes; seconds
	$(BIN)/pytest tests/unit -q

test: install system-deps supabase-cli ## the whole test suite (real PostgreSQL, PgBouncer, SMTP, HTTP)
	$(BIN)/pytest

check: install ## ruff, mypy --strict and the migration lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m assignment_reminders.db.migration_lint supabase/migrations

lint: check

BENCH_ARGS ?=
bench: install ## benchmarks; prints tables and rewrites docs/benchmarks.md's current table
	$(BIN)/python -m benchmarks --write-docs $(BENCH_ARGS)

# Services the tests need that come from Debian, installed only when missing (CI runs as root).
SYSTEM_PACKAGES := pgbouncer chromium
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null; \
	fi

# The Supabase CLI (npm package `supabase`, pinned in tools/supabase-cli/package-lock.json) for the
# shared-migration-history tests; installed only when missing.
SUPABASE_CLI := tools/supabase-cli/node_modules/.bin/supabase
supabase-cli: $(SUPABASE_CLI)
$(SUPABASE_CLI): tools/supabase-cli/package.json tools/supabase-cli/package-lock.json
	@command -v npm >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm) >/dev/null
	cd tools/supabase-cli && npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
