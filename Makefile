# The README's two commands, on a fresh machine:
#   make run    install, then train every domain's quick preset and print a summary table
#   make test   install (with test tools), then run the test suite
# Each creates .venv on first use and reinstalls when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PRESET ?= quick

.PHONY: run test report lint notebooks clean

run: $(VENV)/.installed-run
	$(BIN)/keras-applied run all --preset $(PRESET)
	$(BIN)/keras-applied report

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

report: $(VENV)/.installed-run
	$(BIN)/keras-applied report

lint: $(VENV)/.installed-test
	$(BIN)/ruff check common applications tests

# Rewrite every notebook's .ipynb from its jupytext .py twin (edit the .py).
notebooks: $(VENV)/.installed-test
	$(BIN)/jupytext --sync notebooks/*.py

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[all]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[all,dev]'
	touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
