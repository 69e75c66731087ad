# claw-lsp: `make demo` runs the agent in a real editor, `make test` runs every test.
# Both set up everything they need: the virtualenv (.venv) with the package, its dev tools and
# Neovim; stylua; the VS Code extension's Node tool chain; and, for the VS Code end-to-end test,
# Node 24, code-server, playwright-core (cached in ~/.cache/claw-e2e) and Debian's Chromium;
# for the generic-client test, Debian's Emacs with eglot.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STYLUA := $(VENV)/stylua/node_modules/.bin/stylua
VSCODE := editors/vscode
VSCODE_STAMP := $(VSCODE)/node_modules/.installed

.PHONY: setup setup-e2e test stress lint demo demo-cli bench vsix dist clean

setup: $(STAMP) $(STYLUA) $(VSCODE_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

$(STYLUA):
	npm install --prefix $(VENV)/stylua --no-audit --no-fund --loglevel=error @johnnymorganz/stylua-bin@2.5.2

$(VSCODE_STAMP): $(VSCODE)/package.json $(VSCODE)/package-lock.json
	cd $(VSCODE) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup-e2e:
	bash scripts/setup-vscode-e2e.sh
	bash scripts/setup-eglot.sh
	bash scripts/setup-acpx.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(STYLUA) --config-path editors/neovim/.stylua.toml --check editors/neovim tests/nvim lazy.lua
	cd $(VSCODE) && npm run -s typecheck && npm run -s lint

# The universal claw.vsix (the server found on PATH / claw.serverPath) and the self-contained
# claw-linux-x64.vsix (the server and its dependencies bundled: docs/editors.md).
vsix: setup
	cd $(VSCODE) && npm run -s package
	$(BIN)/python $(VSCODE)/scripts/bundle_server.py --platform linux-x64
	cd $(VSCODE) && npm run -s package:linux-x64

# The Python package: dist/claw_lsp-<version>.tar.gz and the wheel built from it.
dist: setup
	$(BIN)/python -m build --outdir dist .

test: setup setup-e2e lint vsix
	$(BIN)/pytest -q --durations=60

# The long suites (the whole corpus of real edits in every encoding, >= 1,000 races, 10,000 hostile
# protocol messages, the fault and crash matrices, twenty 5 MB documents), then the permission and
# path corpora (whole in the default run already): docs/reliability.md.
CORPORA := tests/unit/test_shell_corpus.py tests/unit/test_permissions.py \
	tests/unit/test_workspace_disk.py tests/unit/test_tool_search.py
stress: setup setup-e2e
	$(BIN)/pytest -q -m stress
	$(BIN)/pytest -q $(CORPORA)

demo: setup
	bash scripts/demo.sh

demo-cli: setup
	bash scripts/demo_cli.sh

bench: setup
	bash scripts/setup-peers.sh
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(VSCODE)/node_modules $(VSCODE)/dist $(VSCODE)/bundled/libs dist
