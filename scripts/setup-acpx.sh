#!/usr/bin/env bash
# Install acpx (npm: a headless Agent Client Protocol client built on the TypeScript SDK), the
# independent ACP client tests/acp/test_acp_real_client.py drives claw-lsp --acp with. Cached
# outside the repository; run with the cache's Node 24 when setup-vscode-e2e.sh installed it
# (acpx wants Node >= 22.13). Idempotent.
set -euo pipefail

CACHE="${CLAW_E2E_CACHE:-$HOME/.cache/claw-e2e}"
ACPX_SPEC="${CLAW_ACPX_SPEC:-acpx@0.19.1}"
say() { printf '[setup-acpx] %s\n' "$*"; }

command -v npm >/dev/null || { echo "[setup-acpx] ERROR: npm is needed to install acpx" >&2; exit 1; }
if [[ -x "$CACHE/acpx/node_modules/.bin/acpx" ]] && grep -q "\"version\": \"${ACPX_SPEC#acpx@}\"" \
  "$CACHE/acpx/node_modules/acpx/package.json" 2>/dev/null; then
  say "acpx ${ACPX_SPEC#acpx@} already in $CACHE/acpx"
  exit 0
fi
mkdir -p "$CACHE/acpx"
say "npm install $ACPX_SPEC into $CACHE/acpx"
npm install --prefix "$CACHE/acpx" --no-audit --no-fund --loglevel=error "$ACPX_SPEC"
"$CACHE/acpx/node_modules/.bin/acpx" --version >/dev/null 2>&1 || say "acpx installed (its --version needs Node >= 22)"
