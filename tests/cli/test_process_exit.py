"""The `rawgwh` process skips the interpreter's final garbage collection, which walked every
object its imports made (0.3 s after a sync); a library call of ``main`` does not."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import atexit, gc, sys
from rawgwh.cli import main
atexit.register(lambda: print("frozen", gc.get_freeze_count() > 0))
sys.argv = ["rawgwh", *sys.argv[1:]]
{call}
"""


def _run(call: str, *args: str) -> subprocess.CompletedProcess[str]:
    code = PROBE.format(call=call)
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )


def test_the_command_freezes_the_heap_before_exit_on_success_and_on_error() -> None:
    ok = _run("main()", "--help")
    assert ok.returncode == 0 and "frozen True" in ok.stdout
    bad = _run("main()", "no-such-command")
    assert bad.returncode != 0 and "frozen True" in bad.stdout
    assert "Traceback" not in bad.stderr


def test_main_called_as_a_library_leaves_the_collector_alone() -> None:
    result = _run("try:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert "frozen False" in result.stdout
