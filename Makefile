# gridcare — two commands from a fresh clone:
#   make demo   set everything up, build the demo utility on SQLite (./var) and serve http://127.0.0.1:8000
#   make test   set everything up and run the whole test suite (lint, type check, migrations check, pytest)
# DATABASE_URL chooses the database (default: SQLite under ./var).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCALE ?= small

.PHONY: demo test setup system-packages serve clean

setup: $(VENV)/.installed node_modules/.installed
	@$(BIN)/gridcare compile_translations --verbosity 0

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

system-packages:
	@bash .ci/system-packages

demo: setup
	$(BIN)/gridcare demo --scale $(SCALE)
	$(BIN)/gridcare serve

serve: setup
	$(BIN)/gridcare serve

test: setup system-packages
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/gridcare makemigrations --check --dry-run
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) node_modules var
