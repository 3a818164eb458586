# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test node-deps bench reliability worker lint typecheck migrations-check install install-dev clean

# What the product needs at run time (requirements.txt) ...
$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# ... and what only tests, benchmarks and tooling need (requirements-dev.txt).
$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

## Serve the product on http://127.0.0.1:8000 on embedded defaults (SQLite, in-process tasks,
## sandbox mail); DATABASE_URL, CELERY_BROKER_URL and EMAIL_BACKEND switch to the real services.
## One uvicorn process serves everything: the API, UI and admin (Django under ASGI; static files
## through WhiteNoise) and what only the ASGI process serves (/v1/events/stream, /live/events,
## /mcp). Production splits these (README "Operations"). RUN_PORT picks another port; open
## streams get RUN_GRACE seconds on Ctrl-C before they are cut (clients resume); RELOAD=1
## restarts the server when a .py file changes, as runserver did.
RUN_PORT ?= 8000
RUN_GRACE ?= 3
RELOAD ?=
run: $(STAMP)
	mkdir -p var
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(PY) manage.py bootstrap_demo --superuser
	DEBUG=$${DEBUG:-1} $(VENV)/bin/uvicorn sendook.asgi:application --host 127.0.0.1 \
		--port $(RUN_PORT) --lifespan on --timeout-graceful-shutdown $(RUN_GRACE) $(if $(RELOAD),--reload)

## Run the whole suite (PostgreSQL when DATABASE_URL is set, SQLite otherwise). axe-core for the
## accessibility tests comes from npm (package-lock.json); without npm those tests are skipped.
test: $(DEV_STAMP)
	@$(MAKE) --no-print-directory node-deps
	$(PY) -m pytest -q

node-deps:
	@if [ -f node_modules/axe-core/axe.min.js ]; then :; \
	elif command -v npm >/dev/null; then npm ci --no-audit --no-fund; \
	else echo "npm not found: the axe-core accessibility tests will be skipped (install node and npm)"; fi

## Every benchmark in bench/ against its bare baseline (PostgreSQL: DATABASE_URL, default
## sendook_bench; a private Redis, gunicorn, a Celery worker, moto and a webhook receiver are
## started; `hey` comes from Debian): prints a table, writes var/bench/latest.json.
## BENCH_ARGS=--full for the full sizes (search over 100,000 messages); BENCH_ARGS="--only ui" for
## the staff UI's Mine view and thread page at 10,000 threads against the API's thread list.
bench: $(DEV_STAMP)
	@command -v hey >/dev/null || { echo "installing hey (Debian's HTTP load generator) for bench/http_load.py"; apt-get install -y hey; }
	$(PY) bench/run.py $(BENCH_ARGS)

## Fault-injection suite (not part of `make test`): needs PostgreSQL (RELIABILITY_DATABASE_URL,
## default postgres://postgres@127.0.0.1:5432/sendook_reliability, written to) and redis-server on
## PATH (each script starts its own on loopback); postgres_restart also starts its own PostgreSQL
## cluster (initdb/pg_ctl from RELIABILITY_PG_BIN, default /usr/lib/postgresql/15/bin, run as the
## postgres user when root). Each script prints its figure on its last line
## and exits non-zero when it misses its target; all run, the target fails if any did.
RELIABILITY := send_burst_kill redis_outage postgres_restart inbound_storm mime_bombs api_fuzz header_injection slow_clients auth_bounds attachment_text stream_redis_restart
reliability: $(DEV_STAMP)
	@failed=0; for script in $(RELIABILITY); do \
		echo "== reliability/$$script.py"; \
		timeout 900 $(PY) reliability/$$script.py || failed=1; \
	done; exit $$failed

## A Celery worker with the periodic sweeps (beat) for one-machine setups.
worker: $(STAMP)
	$(VENV)/bin/celery -A sendook worker -B --loglevel=INFO

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy .

migrations-check: $(DEV_STAMP)
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var node_modules
