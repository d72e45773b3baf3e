# The two commands of the README: `make demo` and `make test`. Both do all set-up first and
# are idempotent: a second run with nothing changed downloads and rebuilds nothing.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
DP := $(VENV)/bin/dp
PYTHON ?= $(shell command -v python3.11 || command -v python3)
DEMO_EVENTS ?= 20000

.PHONY: setup lock lint demo test test-unit test-slow services-down bench clean-workspace help

help:
	@echo "make demo   set up, start Kafka + Spark Connect, generate demo events, run every notebook, render reports"
	@echo "make test   set up, then the test suite without the slow tests (what CI runs)"
	@echo "make bench  set up, then 'dp bench' (writes reports/bench/bench.json and bench.md)"
	@echo "make lock   regenerate requirements.lock after a change of pyproject.toml's dependencies"
	@echo "make lint   ruff, and mypy over shared_lib and runners (part of make test)"
	@echo "make test-unit   the pure tests only: no broker, no Spark server (seconds)"
	@echo "make test-slow   only the tests marked slow, left out of make test (the Spark and Kafka clusters, the lake on S3Proxy end to end; the soak: 50 scheduled cycles, about an hour)"

setup: $(VENV)/.installed
	@$(PY) -m runners.jars

# The venv installs exactly requirements.lock (every package, with hashes), then the project
# itself without dependencies; again whenever the lock or pyproject.toml change.
LOCK := requirements.lock
$(VENV)/.installed: $(LOCK) pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11, 5) else "Python 3.11.5+ is needed; found " + sys.version.split()[0] + ": install it or run make PYTHON=/path/to/python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "set-up: installing the locked Python packages into $(VENV) ..."
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	@$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

# Regenerates requirements.lock from pyproject.toml (dependencies + dev extras) for Python 3.11 on
# Linux x86_64, keeping every version already locked; UPGRADE=1 moves everything to the newest.
lock:
	@test -x $(VENV)/bin/uv || { echo "make lock needs uv: run make setup first (uv is a dev extra)" >&2; exit 1; }
	@$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --quiet \
	  --python-version 3.11.5 --python-platform x86_64-manylinux_2_28 \
	  --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) --output-file $(LOCK)
	@echo "wrote $(LOCK): run make setup (or make test) to install it"

demo: setup
	@$(DP) up
	@$(DP) generate web-user-analytics --events $(DEMO_EVENTS) --seed 42
	@$(DP) generate operational-metrics --events $(DEMO_EVENTS) --seed 7
	@$(DP) generate mobile-user-analytics --events $(DEMO_EVENTS) --seed 42
	@$(DP) generate compliance-auditing --seed 42
	@$(DP) run
	@$(DP) catalog
	@$(DP) demo-summary

# The dashboards' browser tests drive Debian's chromium through Playwright (whose own browser
# download is not used); installed once, with apt-get, only when it is missing.
CHROMIUM := /usr/bin/chromium
.PHONY: browser
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	    echo "The dashboard tests need Debian's chromium at $(CHROMIUM). Install it as root:" \
	         "sudo apt-get update && sudo apt-get install -y chromium (or run make browser as root)," \
	         "then run make test again." >&2; exit 1; fi; \
	  echo "set-up: installing Debian's chromium for the dashboard tests ..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Lint first (seconds), then unit tests, the DataFrame tests and integration tests against one
# real broker and Spark server, then nbval over the notebooks.
# The tests marked slow are left out (tests/conftest.py) for make test-slow: CI stays under 30 minutes.
test: setup browser lint
	@$(PY) -m pytest -q -p no:cacheprovider tests notebooks --nbval-lax

# Pure tests only: no broker, no Spark server.
test-unit: setup
	@$(PY) -m pytest -q -p no:cacheprovider tests/unit

# Only the tests marked slow: the Spark and Kafka clusters, the lake on S3Proxy end to end, the soak.
# DP_SOAK_CYCLES=N runs fewer cycles than its 50.
test-slow: setup
	@$(PY) -m pytest -q -s -p no:cacheprovider -m slow tests

lint: setup
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/mypy shared_lib runners

bench: setup
	@$(DP) bench

services-down:
	@test -x $(DP) && $(DP) down || true
