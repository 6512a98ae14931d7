"""Run a command as a child process and measure its wall time and peak RSS."""

from __future__ import annotations

import os
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


def measure(cmd: list[str], env: dict[str, str] | None = None) -> Measured:
    """Wall time and peak resident memory of exactly this child (``wait4`` rusage)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(seconds, usage.ru_maxrss / 1024, proc.returncode)


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
    return [sys.executable, "-m", "rawgwh", *args]


ROOT = Path(__file__).resolve().parents[1]
