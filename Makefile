# Two commands: `make run` (web + worker + beat with demo users) and `make test`; `make` alone lists the targets.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help run test lint bench clean

help:  ## list these targets (what `make` alone does)
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "  make %-6s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The development environment: runtime and test/tooling requirements (the image installs runtime only).
$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# Links in emails point at the port the web process serves on, unless SITE_URL says otherwise.
run: export TASKHUB_PORT ?= 8000
run: export SITE_URL ?= http://127.0.0.1:$(TASKHUB_PORT)
run: $(BIN)/.installed  ## migrate, create the demo users, run web + worker + beat + events until Ctrl-C
	@$(BIN)/python manage.py runall --check-port
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Taskhub on http://127.0.0.1:$(TASKHUB_PORT)/api/v1/docs/  (admin: /admin/)  Ctrl-C stops everything."
	@$(BIN)/python manage.py runall

test: $(BIN)/.installed  ## run the whole test suite (PYTEST_ARGS=... passes options)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed  ## ruff and the import-layer contract
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

bench: $(BIN)/.installed  ## the list and task-API benchmarks
	$(BIN)/python bench/task_list.py
	$(BIN)/python bench/task_api_throughput.py

clean:  ## remove var/ (SQLite database, broker, media), staticfiles and caches
	rm -rf var staticfiles .pytest_cache
