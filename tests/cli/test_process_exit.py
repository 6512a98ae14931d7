"""The `rawgwh` process skips the interpreter's final garbage collection, which walked every
object its imports made (0.3 s after a sync); a library call of ``main`` does not. Ctrl-C
ends it with one line saying how to resume."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from helpers import CTRL_C_ABLE, INTERRUPTED

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


def test_ctrl_c_during_a_sync_says_how_to_resume(tmp_path: Path) -> None:
    # Typer turns Ctrl-C into a silent exit 130 unless the app keeps it for its own message.
    with socket.create_server(("127.0.0.1", 0)) as rawg:  # accepts, never answers
        url = f"http://127.0.0.1:{rawg.getsockname()[1]}/api"
        args = ["sync", "-w", str(tmp_path / "wh"), "--api-key", "k", "--base-url", url]
        child = subprocess.Popen(
            [sys.executable, "-c", CTRL_C_ABLE, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        rawg.settimeout(60)
        request, _ = rawg.accept()  # the sync is under way
        with request:
            child.send_signal(signal.SIGINT)
            out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert err == INTERRUPTED + "\n"
