#!/usr/bin/env bash
# Install the peers bench/bench_peers.py measures claw against, into a cache outside the repository:
#   $CLAW_BENCH_CACHE (default ~/.cache/claw-bench)/npm        Claude Code and the Copilot language server (npm)
#   $CLAW_BENCH_CACHE/jedi-venv                                jedi-language-server (PyPI, its own venv)
# Versions are pinned so runs compare like with like; an existing install of the same version is kept.
# Prints nothing on success except what the installers print; exits non-zero if a peer cannot be set up.
set -euo pipefail

CACHE="${CLAW_BENCH_CACHE:-$HOME/.cache/claw-bench}"
CLAUDE_CODE_VERSION="${CLAUDE_CODE_VERSION:-2.1.332}"
COPILOT_LS_VERSION="${COPILOT_LS_VERSION:-1.539.0}"
JEDI_LS_VERSION="${JEDI_LS_VERSION:-0.47.0}"
PYTHON="${PYTHON:-python3}"

mkdir -p "$CACHE/npm"
stamp="$CACHE/npm/.installed-$CLAUDE_CODE_VERSION-$COPILOT_LS_VERSION"
if [ ! -e "$stamp" ]; then
    cd "$CACHE/npm"
    [ -e package.json ] || echo '{"name": "claw-bench-peers", "private": true}' > package.json
    # Claude Code's postinstall only links the native binary; the binary itself ships in
    # @anthropic-ai/claude-code-linux-x64 (an optional dependency), which bench_peers runs directly.
    npm install --no-audit --no-fund --loglevel=error \
        "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" \
        "@github/copilot-language-server@$COPILOT_LS_VERSION"
    test -x node_modules/@anthropic-ai/claude-code-linux-x64/claude
    rm -f .installed-*
    touch "$stamp"
    cd - >/dev/null
fi

venv="$CACHE/jedi-venv"
if [ ! -e "$venv/.installed-$JEDI_LS_VERSION" ]; then
    test -x "$venv/bin/python" || "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "jedi-language-server==$JEDI_LS_VERSION"
    rm -f "$venv"/.installed-*
    touch "$venv/.installed-$JEDI_LS_VERSION"
fi
