# Two commands: `make run` serves the portal with demo data; `make test` runs the whole suite.
# `make serve` runs it as production does (PORTAL_ENV=production: SECRET_KEY, DATABASE_URL and REDIS_URL must be set).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi

.PHONY: run serve test test-postgres test-e2e lint bandit bench load storm clean

# The PostgreSQL server of the PostgreSQL suite and the storm (this machine's; CI's too).
POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

# PORT=5001 serves elsewhere; the links in mail (PUBLIC_URL) follow it unless PUBLIC_URL is set.
PORT ?= 5000
run: export PUBLIC_URL ?= http://127.0.0.1:$(PORT)
run: $(VENV)/.runtime-installed
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	# The mail worker runs beside the server (messages land in instance/mail/ unless MAIL_SERVER is set).
	$(FLASK) send-mail --loop --interval 5 & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# Production: migrate, then gunicorn. No demo data; the portal refuses to start without SECRET_KEY or REDIS_URL
# or while demo accounts exist. Run the mail worker (`flask --app wsgi send-mail --loop`) beside it.
# WORKERS sync workers (default: two per core, plus one) on BIND, behind a proxy (README.md).
# No --access-logfile: gunicorn's access lines carry query strings; the portal writes its own (portal/logs.py).
WORKERS ?= $(shell echo $$((2 * $$(nproc) + 1)))
BIND ?= 127.0.0.1:8000
GUNICORN_ARGS ?= --workers $(WORKERS) --bind $(BIND) --worker-class sync --timeout 30 --graceful-timeout 30 \
	--max-requests 5000 --max-requests-jitter 500 --no-control-socket
serve: export PORTAL_ENV = production
serve: $(VENV)/.runtime-installed
	$(FLASK) db upgrade
	$(BIN)/gunicorn $(GUNICORN_ARGS) wsgi:app

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The whole suite again on PostgreSQL (each run makes and drops its own database on that server).
test-postgres: $(VENV)/.dev-installed
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-$(POSTGRES_URL)} $(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser suite (tests/e2e, skipped by `make test`): the real portal in Debian's Chromium
# (/usr/bin/chromium: apt-get install chromium) through Playwright, axe-core from npm on every page.
# Screenshots in tests/e2e/artifacts/. One size: PYTEST_ARGS='-k phone'; one journey: -k keyboard.
test-e2e: $(VENV)/.dev-installed
	E2E=1 $(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

# ruff (pyproject.toml): lint and import order over the portal, its tests and its benchmarks.
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check portal tests bench

# Static analysis of the portal's code: any medium or high finding fails (explained ones carry `# nosec`).
bandit: $(VENV)/.dev-installed
	$(BIN)/bandit --quiet --recursive --severity-level medium --confidence-level low portal

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench.availability

# The pages under load against bare Flask (wrk from Debian: apt-get install wrk); the big clinic
# first: $(BIN)/python -m bench.make_clinic. LOAD_ARGS=--strict fails on a missed target.
load: $(VENV)/.runtime-installed
	bench/load.sh $(LOAD_ARGS)

# Patients booking at the same moment through two gunicorn processes on PostgreSQL (a scratch
# database on DATABASE_URL's server, else POSTGRES_URL's): one booking per time, every loser told,
# no errors. STORM_ARGS='--clients 20 --slots 40' is the smaller storm of .ci/run.
storm: $(VENV)/.runtime-installed
	$(BIN)/python -m bench.storm --database-url "$${DATABASE_URL:-$(POSTGRES_URL)}" $(STORM_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
