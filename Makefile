# tamis: every target bootstraps what it needs and is idempotent.
#   make demo    generate a synthetic platform, import consent, build a snapshot with each preset
#   make test    the whole test suite (unit, property, end-to-end, SQLite and PostgreSQL)
#   make bench   benchmarks and slow scale tests (not in CI)
#   make lint    ruff (lint + format check), mypy strict on src/tamis, bandit on src/tamis
#   make fuzz    hypothesis fuzzing, FUZZ_EXAMPLES per target (make test runs a small budget),
#                then the atheris harnesses of fuzz/ (not in CI)
#   make chaos   SIGKILL campaigns on snapshot builds and registry writes (not in CI)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
EXTRAS ?= dev,pii,reports,service,audit,lineage,spark
STAMP  := $(VENV)/.installed-$(shell echo '$(EXTRAS)' | tr ',' '-')
DEMO   ?= demo
DEMO_MEMBERS ?= 20000
CUTOFF ?= 2026-01-01T00:00:00Z
FUZZ_EXAMPLES ?= 10000
FUZZ_PROCS ?= 2
FUZZ_STAMP := $(VENV)/.installed-fuzz
CHAOS_KILLS ?= 100

.PHONY: venv demo test lint fuzz chaos bench clean services

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

test: lint services
	@bash scripts/ensure-chromium.sh
	$(PY) -m pytest -n 2 -m "not slow" -q $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/bandit -q -r src/tamis -c pyproject.toml

$(FUZZ_STAMP): $(STAMP)
	$(PIP) install --quiet -e '.[fuzz]'
	@touch $@

# Hypothesis first (FUZZ_EXAMPLES per target), then each atheris harness for FUZZ_EXAMPLES runs;
# one tally of both at the end. A failing harness stops here with its log's end (and libFuzzer's
# crash-* input in the current folder).
fuzz: $(FUZZ_STAMP)
	@rm -f .fuzz-tally.*
	TAMIS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) TAMIS_FUZZ_TALLY=$(CURDIR)/.fuzz-tally \
		$(PY) -m pytest tests/fuzz -n $(FUZZ_PROCS) -q -p no:cacheprovider $(PYTEST_ARGS)
	@if $(PY) -c 'import atheris' 2>/dev/null; then \
		log=$$(mktemp); \
		for h in fuzz/fuzz_*.py; do \
			TAMIS_FUZZ_TALLY=$(CURDIR)/.fuzz-tally $(PY) $$h -runs=$(FUZZ_EXAMPLES) >$$log 2>&1 \
				|| { tail -n 40 $$log; rm -f $$log; echo "atheris $$h: FAILED"; exit 1; }; \
			echo "atheris $$h: $$(grep -E '^Done' $$log)"; \
		done; rm -f $$log; \
	else echo 'atheris is not installed (pip install -e .[fuzz]): hypothesis was the only engine'; fi
	@$(PY) fuzz/tally.py .fuzz-tally

chaos: venv services
	nice -n 19 $(PY) scripts/chaos.py --kills $(CHAOS_KILLS) $(CHAOS_ARGS)

bench: venv services
	$(PY) -m pytest -m slow -q $(PYTEST_ARGS)
	$(PY) bench/snapshot.py
	$(PY) bench/engines.py
	$(PY) bench/receipts.py
	$(PY) bench/guard.py --rare-names 300000 --checks 10000
	$(PY) bench/settings_load.py --seconds 15 --clients 64 --procs 1
	$(PY) bench/settings_load.py --seconds 15 --clients 64 --procs 1 --rate 1000
	$(PY) bench/settings_load.py --seconds 45 --clients 64 --procs 1 --kill-every 7

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .hypothesis .fuzz-tally.*
