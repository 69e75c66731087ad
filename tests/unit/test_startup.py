"""The garbage collector around start-up (`claw_lsp/core/startup.py`): off while the big imports
run, then what they built frozen (later full collections skip it) and the collector back on, in
the language server's warm-up thread and in `claw -p`. Each case runs in a fresh interpreter, so
the test process's own collector is left alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, cwd: Path | None = None) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120, cwd=cwd
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_the_language_servers_warm_up_freezes_the_sdk_and_turns_the_collector_back_on() -> None:
    state = _python(
        "import gc, json, sys\n"
        "from claw_lsp.server.app import _warm_imports\n"
        "before = gc.get_freeze_count()\n"
        "_warm_imports()\n"
        "print(json.dumps({'before': before, 'frozen': gc.get_freeze_count(), 'on': gc.isenabled(),\n"
        "                  'sdk': 'anthropic' in sys.modules}))\n"
    )
    assert state["before"] == 0 and state["sdk"] is True and state["on"] is True
    # The SDK's classes, models and modules: well over 100,000 objects that full collections skip.
    assert isinstance(state["frozen"], int) and state["frozen"] > 100_000, state


def test_a_failed_warm_up_still_turns_the_collector_back_on() -> None:
    state = _python(
        "import gc, json\n"
        "from claw_lsp.server import app\n"
        "app._WARM_MODULES = ('claw_no_such_module',)\n"
        "import claw_lsp.providers.anthropic as p\n"
        "def boom(): raise RuntimeError('no model')\n"
        "p.default_model = boom\n"
        "try:\n"
        "    app._warm_imports()\n"
        "except RuntimeError:\n"
        "    pass\n"
        "print(json.dumps({'on': gc.isenabled(), 'frozen': gc.get_freeze_count()}))\n"
    )
    assert state["on"] is True and isinstance(state["frozen"], int) and state["frozen"] > 0


def test_claw_p_runs_with_the_start_up_frozen_and_the_collector_on(tmp_path: Path) -> None:
    turns = tmp_path / "turns.jsonl"
    turns.write_text(json.dumps({"content": [{"type": "text", "text": "hello"}]}) + "\n")
    state = _python(
        "import contextlib, gc, io, json\n"
        "from claw_lsp.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    rc = main(['-p', 'hi', '--script', {str(turns)!r}, '--output-format', 'json'])\n"
        "print(json.dumps({'rc': rc, 'on': gc.isenabled(), 'frozen': gc.get_freeze_count(),\n"
        "                  'result': json.loads(out.getvalue())['result']}))\n",
        cwd=tmp_path,
    )
    assert state["rc"] == 0 and state["result"] == "hello"
    assert state["on"] is True and isinstance(state["frozen"], int) and state["frozen"] > 10_000, state


def test_big_blocks_reuse_freed_memory_once_the_allocator_is_tuned() -> None:
    """Two 6 MB blocks (a text and its edited copy) made and freed ten times: untuned, glibc maps
    them afresh and trims the heap back each time, so every round page-faults 12 MB in again
    (~29,000 minor faults); tuned, the freed memory is reused (no faults). Counted, not timed."""
    code = (
        "import json, resource, sys\n"
        "from claw_lsp.core import startup\n"
        "tuned = startup.tune_allocator() if sys.argv[1] == '1' else False\n"
        "def faults(): return resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "n = 6_000_000\n"
        "a = bytearray(n); b = bytearray(n); del a, b\n"
        "before = faults()\n"
        "for _ in range(10):\n"
        "    a = bytearray(n); b = bytearray(n)\n"
        "    del a, b\n"
        "print(json.dumps({'tuned': tuned, 'faults': faults() - before}))\n"
    )
    results = {}
    for tuned in ("0", "1"):
        out = subprocess.run(
            [sys.executable, "-c", code, tuned], capture_output=True, text=True, check=True, timeout=60
        )
        results[tuned] = json.loads(out.stdout)
    pages = 2 * 6_000_000 // 4096
    assert results["0"]["faults"] > 5 * pages  # the default: fresh pages every round
    assert results["1"]["tuned"] is True and results["1"]["faults"] < pages  # reused
