# Two commands for a fresh Debian machine with Python 3.11:
#   make run   - the whole app (web, worker, scheduler, simulated exchange, mail sink)
#   make test  - every test, on SQLite and then on PostgreSQL
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000

.PHONY: run test lint format venv translations system-deps test-deps bench clean

run: venv translations .env
	@scripts/ensure_redis.sh
	@$(BIN)/flask db upgrade
	@rm -rf "$${PROMETHEUS_MULTIPROC_DIR:-instance/prometheus}"  # samples of the last run's processes
	@echo "Tradebots: http://127.0.0.1:$(PORT)  (Ctrl-C stops everything)"
	@PATH="$(CURDIR)/$(BIN):$$PATH" BASE_URL=$${BASE_URL:-http://127.0.0.1:$(PORT)} \
		$(BIN)/honcho start -f Procfile.local -p $(PORT)

test: venv translations test-deps
	@scripts/run_tests.sh

venv: $(STAMP)

# The compiled catalogs (.mo) the app reads, built from the committed .po files.
translations: venv
	@$(BIN)/python scripts/translations.py compile

$(STAMP): requirements.txt
	@scripts/ensure_python_venv.sh $(PYTHON)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

.env:
	@$(BIN)/python scripts/gen_env.py

test-deps:
	@scripts/apt_install.sh redis-server:redis-server chromium:chromium

lint:
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

format:
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
