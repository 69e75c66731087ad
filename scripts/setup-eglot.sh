#!/usr/bin/env bash
# Install what the eglot end-to-end test (tests/eglot) needs: Emacs and eglot, from Debian
# (emacs-nox + elpa-eglot: Emacs 28, eglot 1.9). Only when missing, and only as root; otherwise it
# says what to run and exits 0 (the test then skips with that reason).
# Idempotent: when `emacs` can load eglot it returns at once.
set -euo pipefail

say() { printf '[setup-eglot] %s\n' "$*"; }

has_eglot() {
  command -v emacs >/dev/null 2>&1 && emacs --batch --eval "(require 'eglot)" >/dev/null 2>&1
}

if has_eglot; then
  say "ok: $(emacs --version | head -n 1) with eglot"
  exit 0
fi

packages=(emacs-nox elpa-eglot)
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  say "emacs with eglot is missing; install it with: sudo apt-get install -y ${packages[*]}"
  exit 0
fi

say "apt-get install -y ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
has_eglot || { say "ERROR: emacs still cannot load eglot" >&2; exit 1; }
say "ok: $(emacs --version | head -n 1) with eglot"
