#!/usr/bin/env bash
# The headless demo: the claw CLI reads and fixes a bug in a copy of examples/sample_project.
# Uses the real model when ANTHROPIC_API_KEY is set, else the scripted model.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap '"$here/.venv/bin/claw" trust --forget "$work" >/dev/null; rm -rf "$work"' EXIT
cp -r "$here/examples/sample_project/." "$work/"
cd "$work"
# The sample ships .claw/settings.json (acceptEdits, and an allow rule for its tests): a folder's own
# settings apply only once the user trusts it. (The trust is forgotten when the demo ends.)
echo "-- claw trust --"
"$here/.venv/bin/claw" trust
prompt="The average test fails. Find the bug in stats.py, fix it, and run the tests."
if [[ -n "${ANTHROPIC_API_KEY:-}" ]]; then
  echo "== claw demo: real model (ANTHROPIC_API_KEY is set) =="
  args=()
else
  echo "== claw demo: scripted model (set ANTHROPIC_API_KEY to use the real one) =="
  args=(--script "$here/examples/demo_turns.jsonl")
fi
echo "-- stats.py before --"; sed -n '4,8p' stats.py
echo "-- claw -p \"$prompt\" --"
"$here/.venv/bin/claw" -p "$prompt" --verbose "${args[@]}"
echo "-- stats.py after --"; sed -n '4,8p' stats.py
python3 -m unittest -q test_stats
