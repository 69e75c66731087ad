"""Bundles the claw-lsp server and its dependencies into editors/vscode/bundled/ for a platform
.vsix, in the python-tools extension template's shape (bundled/tool: the entry point,
bundled/libs: the packages), run with the user's Python by the extension (src/python.ts).

`python bundle_server.py [--wheel W] [--platform linux-x64] [--pythons 3.11,3.12,3.13,3.14]`

The wheel (built from the repository with `python -m build` when not given) is installed with
`uv pip install --target` once per supported CPython for the target platform, binary wheels only.
A distribution that comes out the same for every Python and has no version-specific binary
(`py3-none-*`, `abi3`: the pure-Python packages, ripgrep's `rg`, cryptography) goes to
bundled/libs/common; the rest (pydantic-core, PyYAML, jiter, rpds-py, cffi) to bundled/libs/cpXY.
bundled/libs/manifest.json names what went where; bundled/tool/claw_server.py reads the layout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXTENSION = HERE.parent
REPO = EXTENSION.parent.parent
BUNDLED = EXTENSION / "bundled"
# vsce's target names -> uv's --python-platform (manylinux_2_28: glibc 2.28+, the wheels' floor).
PLATFORMS = {
    "linux-x64": "x86_64-manylinux_2_28",
    "linux-arm64": "aarch64-manylinux_2_28",
    "darwin-x64": "x86_64-apple-darwin",
    "darwin-arm64": "aarch64-apple-darwin",
    "win32-x64": "x86_64-pc-windows-msvc",
}
PYTHONS = ("3.11", "3.12", "3.13", "3.14")
# Executables a bundle keeps from the packages' scripts (the others' shebangs name a build Python).
KEEP_BIN = {"rg", "rg.exe"}


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(found).exists():
        raise SystemExit("bundle_server: uv not found (pip install uv)")
    return found


def build_wheel(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return next(out.glob("claw_lsp-*.whl"))


def _dists(target: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Each installed distribution's dist-info name -> (its wheel tags, the paths it installed)."""
    found = {}
    for info in sorted(target.glob("*.dist-info")):
        tags = [
            line.split(": ", 1)[1].strip()
            for line in (info / "WHEEL").read_text().splitlines()
            if line.startswith("Tag: ")
        ]
        paths = []
        for line in (info / "RECORD").read_text().splitlines():
            path = line.rsplit(",", 2)[0]
            if path and not path.startswith(("..", "/")):
                paths.append(path)
        found[info.name] = (tags, paths)
    return found


def _version_free(tags: list[str]) -> bool:
    return all(tag.split("-")[1] in ("none", "abi3") for tag in tags)


def _move(src_root: Path, dst_root: Path, path: str) -> None:
    src = src_root / path
    if not src.exists():
        return
    if src.parent.name == "bin" and src.parent.parent == src_root and src.name not in KEEP_BIN:
        src.unlink()
        return
    dst = dst_root / path
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(src), str(dst))


def bundle(wheel: Path, platform: str, pythons: list[str]) -> dict[str, object]:
    """Install the wheel for each Python into bundled/libs (common + cpXY); returns the manifest."""
    uv = _uv()
    libs = BUNDLED / "libs"
    shutil.rmtree(libs, ignore_errors=True)
    libs.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        staged: dict[str, Path] = {}
        for version in pythons:
            target = Path(tmp) / version
            subprocess.run(
                [
                    uv,
                    "pip",
                    "install",
                    "--quiet",
                    "--target",
                    str(target),
                    "--python-version",
                    version,
                    "--python-platform",
                    PLATFORMS[platform],
                    "--only-binary",
                    ":all:",
                    "--no-compile",
                    str(wheel),
                ],
                check=True,
                env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
            )
            staged[version] = target
        per_version = {v: _dists(t) for v, t in staged.items()}
        common_names = set.intersection(*(set(d) for d in per_version.values()))
        common: list[str] = []
        versioned: dict[str, list[str]] = {}
        first = pythons[0]
        for name in sorted(common_names):
            tags, paths = per_version[first][name]
            if _version_free(tags):
                for path in paths:
                    _move(staged[first], libs / "common", path)
                common.append(name)
        for version, target in staged.items():
            tag = "cp" + version.replace(".", "")
            names = []
            for name, (_tags, paths) in per_version[version].items():
                if name in common:
                    continue
                for path in paths:
                    _move(target, libs / tag, path)
                names.append(name)
            versioned[tag] = sorted(names)
    for cache in libs.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    manifest = {"platform": platform, "pythons": pythons, "common": common, "versioned": versioned}
    (libs / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="the claw-lsp wheel (default: build it)")
    parser.add_argument("--platform", default="linux-x64", choices=sorted(PLATFORMS))
    parser.add_argument("--pythons", default=",".join(PYTHONS), help="CPython versions, comma-separated")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or build_wheel(Path(tmp))
        bundle(wheel, args.platform, args.pythons.split(","))
    print(f"bundled claw-lsp for {args.platform}, Python {args.pythons}: {BUNDLED / 'libs'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
