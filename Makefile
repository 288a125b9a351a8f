# gridcare — two commands from a fresh clone:
#   make demo   set everything up, build the demo utility on SQLite (./var) and serve http://127.0.0.1:8000
#   make test   set everything up and run the whole test suite (lint, type check, migrations check, pytest)
# DATABASE_URL chooses the database (default: SQLite under ./var).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCALE ?= small
# the API fuzzer (schemathesis) runs in its own Python 3.13 environment: see fuzz-constraints.txt
FUZZ_PYTHON ?= $(firstword $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/3.13*/bin/python3) \
	$(shell python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null))
FUZZ_VENV := .venv-fuzz

.PHONY: demo test setup system-packages serve clean fuzz-env fuzz screenshots

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

fuzz-env: $(FUZZ_VENV)/.installed

$(FUZZ_VENV)/.installed: fuzz-constraints.txt
	@test -n "$(FUZZ_PYTHON)" || { echo "the API fuzzer needs Python 3.13: set FUZZ_PYTHON=/path/to/python3.13"; exit 1; }
	$(FUZZ_PYTHON) -m venv $(FUZZ_VENV)
	$(FUZZ_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(FUZZ_VENV)/bin/python -m pip install --quiet -r fuzz-constraints.txt
	touch $@

# schemathesis over the whole OpenAPI schema against a live `gridcare serve` on a throwaway database
fuzz: setup fuzz-env
	$(BIN)/python -m pytest tests/api/test_fuzz.py -s

system-packages:
	@bash .ci/system-packages

demo: setup
	$(BIN)/gridcare demo --scale $(SCALE)
	$(BIN)/gridcare serve

serve: setup
	$(BIN)/gridcare serve

# each position's day through the real UI on a throwaway demo: docs/img/*.png for docs/days.md (not a test)
screenshots: setup
	$(BIN)/python docs/screenshots.py

test: setup system-packages fuzz-env
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/gridcare makemigrations --check --dry-run
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(FUZZ_VENV) node_modules var
