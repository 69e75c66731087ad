"""Entry point of the claw-lsp server bundled in the Claw extension (the python-tools template's
bundled/tool/lsp_server.py): puts bundled/libs/common and bundled/libs/cpXY (this Python's binary
packages) first on sys.path, the bundled `rg` first on PATH, and runs `claw-lsp` with the arguments.

The extension runs it with the Python extension's interpreter or a Python 3.11+ it finds
(src/python.ts). Exit status 3 with one line on stderr when this Python has no bundled packages.
"""

import os
import sys
from pathlib import Path

BUNDLED = Path(__file__).resolve().parent.parent
LIBS = BUNDLED / "libs"
UNSUPPORTED = 3


def main() -> int:
    tag = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    versioned = LIBS / tag
    if sys.version_info < (3, 11) or not versioned.is_dir():
        have = sorted(p.name for p in LIBS.glob("cp*") if p.is_dir())
        print(
            f"claw-lsp: the bundled server has no packages for Python {sys.version.split()[0]} "
            f"({sys.executable}); it has them for {', '.join(have) or 'none'}",
            file=sys.stderr,
        )
        return UNSUPPORTED
    sys.path[:0] = [str(LIBS / "common"), str(versioned)]
    rg_dir = LIBS / "common" / "bin"
    os.environ["PATH"] = os.pathsep.join([str(rg_dir), os.environ.get("PATH", "")])
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    from claw_lsp.cli import serve_main

    return serve_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
