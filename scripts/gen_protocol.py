"""Write the wire protocol's JSON Schema and the VS Code shim's TypeScript types generated from it.

    python scripts/gen_protocol.py          # rewrite docs/protocol.schema.json and protocol.generated.ts
    python scripts/gen_protocol.py --check  # exit 1 when either file is not what the models give

The models are in claw_lsp/server/protocol.py; tests/unit/test_protocol_schema.py runs the check.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "docs" / "protocol.schema.json"
VSCODE = ROOT / "editors" / "vscode"
GENERATED = VSCODE / "src" / "protocol.generated.ts"


def schema_text() -> str:
    """The schema as committed: sorted keys are not used, so $defs keep pydantic's order."""
    sys.path.insert(0, str(ROOT))
    from claw_lsp.server.protocol import json_schema

    return json.dumps(json_schema(), indent=2) + "\n"


def typescript(schema: str) -> str:
    """The TypeScript types json-schema-to-typescript makes of `schema`."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(schema)
    try:
        done = subprocess.run(
            ["node", "scripts/gen-protocol.mjs", f.name],
            cwd=VSCODE,
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        Path(f.name).unlink()
    return done.stdout


def main(argv: list[str]) -> int:
    schema = schema_text()
    ts = typescript(schema)
    if "--check" in argv:
        stale = [
            p for p, text in ((SCHEMA, schema), (GENERATED, ts)) if not p.exists() or p.read_text() != text
        ]
        for path in stale:
            print(
                f"{path.relative_to(ROOT)} is out of date: run python scripts/gen_protocol.py",
                file=sys.stderr,
            )
        return 1 if stale else 0
    SCHEMA.write_text(schema)
    GENERATED.write_text(ts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
