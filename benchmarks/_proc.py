"""Run a command as a child process and measure its wall time and peak RSS."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float
    returncode: int


# Runs a Python command and, at exit, writes its own peak RSS (VmHWM) to a file. rusage's
# ru_maxrss is no good for children of a large process: Linux keeps the high-water mark of
# the forked copy across exec, so a 13 MB child of an 800 MB parent reports 800 MB.
_PEAK_WRAPPER = """
import atexit, runpy, sys
out, args = sys.argv[1], sys.argv[2:]
def _peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                with open(out, "w") as f:
                    f.write(line.split()[1])
atexit.register(_peak)
if args[0] == "-m":
    sys.argv = args[1:]
    runpy.run_module(args[1], run_name="__main__", alter_sys=True)
elif args[0] == "-c":
    sys.argv = ["-c", *args[2:]]
    exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
else:
    sys.argv = args
    runpy.run_path(args[0], run_name="__main__")
"""


def measure(cmd: list[str], env: dict[str, str] | None = None) -> Measured:
    """Wall time and peak resident memory of exactly this child.

    Python commands (``sys.executable ...``) report their own VmHWM at exit; others fall
    back to ``wait4``'s rusage, which is right only when this process is small.
    """
    import tempfile

    wrapped = cmd[0] in _PYTHONS and len(cmd) > 1
    with tempfile.NamedTemporaryFile(prefix="rawgwh-peak-", delete=False) as f:
        peak_file = Path(f.name)
    if wrapped:
        cmd = [cmd[0], "-c", _PEAK_WRAPPER, str(peak_file), *cmd[1:]]
        # Python children run the harness's modules (-m benchmarks...) from any folder, and
        # the product environment does not install benchmarks/.
        env = {**(env or os.environ), "PYTHONPATH": str(ROOT)}
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        peak_kb = usage.ru_maxrss
        if wrapped and peak_file.stat().st_size:
            peak_kb = int(peak_file.read_text())
    finally:
        peak_file.unlink(missing_ok=True)
    return Measured(seconds, peak_kb / 1024, proc.returncode)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def simulator(games: int, seed: int = 1, extra: list[str] | None = None) -> Iterator[str]:
    """A simulator in its own process, so it does not share the sync's core or memory."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "rawgwh",
        "simulate",
        "--port",
        str(port),
        "--games",
        str(games),
        "--seed",
        str(seed),
        *(extra or []),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.time() + 600
        while time.time() < deadline:
            try:
                httpx.get(f"{url}/games", params={"page_size": 1}, timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    raise RuntimeError("simulator exited early") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def rawgwh_cmd(*args: str) -> list[str]:
    return [product_python(), "-m", "rawgwh", *args]


ROOT = Path(__file__).resolve().parents[1]
#: rawgwh and its dependencies only, as a user installs it (``uv sync --no-dev``).
PRODUCT_ENV = ROOT / "benchmarks" / ".data" / "product-env"
_PYTHONS = {sys.executable}


@functools.cache
def product_python() -> str:
    """The interpreter of an environment holding rawgwh and its dependencies only.

    The benchmarks themselves run where pandas, dlt and matplotlib are installed too, and
    pyarrow imports pandas whenever it is installed: about 0.2 s at every start of a child
    that a user's rawgwh never pays. rawgwh's children run here instead. Without uv (the
    README installs it) they fall back to this interpreter, and say so.
    """
    uv = shutil.which("uv")
    if uv is None:
        print("uv not found: rawgwh's children run in the benchmark's environment", flush=True)
        return sys.executable
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(PRODUCT_ENV)}
    env.pop("VIRTUAL_ENV", None)
    # Bytecode compiled now, as after a user's first run (PYTHONDONTWRITEBYTECODE would
    # otherwise make every child compile every module again).
    sync = [uv, "sync", "--frozen", "--no-dev", "--compile-bytecode", "--quiet"]
    subprocess.run(sync, cwd=ROOT, env=env, check=True)
    python = str(PRODUCT_ENV / "bin" / "python")
    _PYTHONS.add(python)
    return python
