# tamis: every target bootstraps what it needs and is idempotent.
#   make demo    generate a synthetic platform, import consent, build a snapshot with each preset
#   make test    the whole test suite (unit, property, end-to-end, SQLite and PostgreSQL)
#   make bench   benchmarks and slow scale tests (not in CI)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
EXTRAS ?= dev,pii,reports,service,audit,lineage,spark
STAMP  := $(VENV)/.installed-$(shell echo '$(EXTRAS)' | tr ',' '-')
DEMO   ?= demo
DEMO_MEMBERS ?= 20000
CUTOFF ?= 2026-01-01T00:00:00Z

.PHONY: venv demo test lint bench clean services

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[$(EXTRAS)]'
	@touch $@

services:
	@bash scripts/services.sh

demo: venv
	@bash scripts/demo.sh "$(DEMO)" "$(DEMO_MEMBERS)" "$(CUTOFF)"

test: venv services
	@bash scripts/ensure-chromium.sh
	$(PY) -m pytest -n 2 -m "not slow" -q $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

bench: venv services
	$(PY) -m pytest -m slow -q $(PYTEST_ARGS)
	$(PY) bench/snapshot.py
	$(PY) bench/engines.py
	$(PY) bench/settings_load.py --seconds 15 --clients 64 --procs 1
	$(PY) bench/settings_load.py --seconds 45 --clients 64 --procs 1 --kill-every 7

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .hypothesis
