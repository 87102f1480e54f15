# 重点项目调度督查平台 — the two set-up commands are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Re-install when pyproject.toml changes, not on every run.
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

TEST_DB ?= tracker
# The suite's first Redis database; each pytest-xdist worker takes the next ones (tests/settings.py).
TEST_REDIS_DB ?= 1
TEST_ENV := DATABASE_URL=postgres://postgres@127.0.0.1:5432/$(TEST_DB) \
	REDIS_URL=redis://127.0.0.1:6379/$(TEST_REDIS_DB) \
	SECRET_KEY=test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz \
	ALLOWED_HOSTS=testserver,localhost,127.0.0.1 \
	DEBUG=0 SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 DATABASE_CONN_MAX_AGE=0
# The embedded demo ignores any production settings in the caller's environment.
DEMO_ENV := env -u DATABASE_URL -u REDIS_URL -u DEBUG -u SECRET_KEY -u ALLOWED_HOSTS

.PHONY: help install system-packages test-packages messages messages-update demo test test-quick lint bench run worker beat clean

help:
	@echo "make demo   – install, load the demo county and serve it at http://127.0.0.1:8000"
	@echo "make test   – install, lint and run the whole test suite on PostgreSQL and Redis"
	@echo "make test-quick [ARGS=tests/test_x.py] – the suite again: no install, no lint, the test database kept"
	@echo "make bench  – benchmarks (docs/benchmarks.md)"
	@echo "make run    – serve with the settings of the current environment"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: system-packages $(STAMP)

# Debian packages: gettext (msgfmt) for the Chinese catalog everywhere; for the browser tests,
# chromium and a CJK font so that screenshots show Chinese.
RUN_PACKAGES := gettext
TEST_PACKAGES := gettext chromium fonts-noto-cjk
define apt_install
	@missing=""; for pkg in $(1); do \
		dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing >/dev/null; fi
endef

system-packages:
	$(call apt_install,$(RUN_PACKAGES))

test-packages:
	$(call apt_install,$(TEST_PACKAGES))

messages: install
	$(PY) manage.py compilemessages -l zh_Hans --ignore='.venv/*' -v 0

# Refresh the catalog after changing user-facing strings, then translate the new entries.
messages-update: install
	$(PY) manage.py makemessages -l zh_Hans --ignore='.venv/*' --ignore='tests/*' --no-location --no-wrap

demo: messages
	$(DEMO_ENV) $(PY) manage.py migrate --noinput -v 0
	$(DEMO_ENV) $(PY) manage.py seed_demo
	@echo "Serving the demo county at http://127.0.0.1:8000 (Ctrl-C to stop)"
	$(DEMO_ENV) $(PY) manage.py runserver 127.0.0.1:8000

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(DEMO_ENV) $(VENV)/bin/mypy
	$(DEMO_ENV) $(PY) manage.py makemigrations --check --dry-run

# The suite runs in parallel, one pytest-xdist worker per core (at most 8: each worker has a test
# database and a Redis database of its own, tests/settings.py). Tests that share something built
# once (the demo county, the browser, the Celery worker) are one xdist group each, so one worker
# runs them. The 25 slowest tests are printed at the end of every run.
PYTEST_PARALLEL := -n auto --maxprocesses 8 --dist loadgroup
test: test-packages messages lint
	./scripts/ensure-services.sh $(TEST_DB)
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_PARALLEL) --durations=25

# For a developer's loop after `make test` has installed everything: no install and no lint, and the
# test databases are kept between runs (--reuse-db; new migrations are still applied).
# `make test-quick ARGS="tests/test_issues.py -x"` runs part of the suite.
ARGS ?=
test-quick:
	./scripts/ensure-services.sh $(TEST_DB)
	$(PY) manage.py compilemessages -l zh_Hans --ignore='.venv/*' -v 0
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_PARALLEL) --reuse-db $(ARGS)

# The benchmarks, on a database of their own (each empties it), written to docs/benchmarks.md:
# rankings and dashboards at province scale, the Excel ledger import, HTTP throughput.
BENCH_DB ?= tracker_bench
BENCH_ENV := $(subst /$(TEST_DB) ,/$(BENCH_DB) ,$(TEST_ENV))

# wrk drives the HTTP throughput benchmark (bench_http: gunicorn on the demo county).
BENCH_PACKAGES := wrk
bench: install
	$(call apt_install,$(BENCH_PACKAGES))
	./scripts/ensure-services.sh $(BENCH_DB)
	$(BENCH_ENV) $(PY) manage.py migrate --noinput -v 0
	$(BENCH_ENV) $(PY) manage.py bench_rankings --scales 0.1,1/0.1,1 --write docs/benchmarks.md
	$(BENCH_ENV) $(PY) manage.py bench_ledger_import --rows 2000 --write docs/benchmarks.md
	$(BENCH_ENV) $(PY) manage.py bench_http --write docs/benchmarks.md

run: messages
	$(PY) manage.py migrate --noinput
	$(PY) manage.py runserver 127.0.0.1:8000

worker: install
	$(VENV)/bin/celery -A tracker worker --loglevel=INFO

beat: install
	$(VENV)/bin/celery -A tracker beat --loglevel=INFO

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache
