#!/usr/bin/env bash
# `make demo`: the agent editing a file through the language server in a real editor (Neovim),
# falling back to the headless CLI demo when the Neovim demo is not available.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [[ -f "$here/demo_nvim.sh" ]]; then
  exec bash "$here/demo_nvim.sh" "$@"
fi
exec bash "$here/demo_cli.sh" "$@"
