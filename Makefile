# claw-lsp: `make demo` runs the agent in a real editor, `make test` runs every test.
# Both set up everything they need: the virtualenv (.venv) with the package, its dev tools and
# Neovim; the Node tool chain of the VS Code extension; code-server and Chromium for its e2e test.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test lint demo demo-cli bench vsix clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: setup lint
	$(BIN)/pytest -q

demo: setup
	bash scripts/demo.sh

demo-cli: setup
	bash scripts/demo_cli.sh

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
