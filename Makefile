# `make run` and `make test` set themselves up from nothing: a .venv with the package and its extras.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py src/vpcflow/records/_tokenizer.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,bench,spark,athena]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/vpcflow demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench: $(STAMP)
	$(BIN)/python bench/bench_read.py

clean:
	rm -rf $(VENV) build dist .pytest_cache
