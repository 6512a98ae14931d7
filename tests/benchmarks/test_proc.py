"""The benchmark harness measures a child's own peak memory, not its parent's."""

from __future__ import annotations

import sys

from benchmarks._proc import measure


def test_a_small_child_of_a_large_parent_reports_its_own_peak() -> None:
    ballast = bytearray(400 * 1024 * 1024)
    for i in range(0, len(ballast), 4096):  # touch every page: resident, not just reserved
        ballast[i] = 1
    small = measure([sys.executable, "-c", "print('hello')"])
    grown = measure(
        [
            sys.executable,
            "-c",
            "x = bytearray(200 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096])",
        ]
    )
    assert small.returncode == 0 and grown.returncode == 0
    assert small.peak_rss_mb < 100  # rusage alone would say about 400 MB here
    assert 200 < grown.peak_rss_mb < 350
    del ballast


def test_the_exit_code_of_the_child_is_kept() -> None:
    assert measure([sys.executable, "-c", "import sys; sys.exit(3)"]).returncode == 3
    assert measure([sys.executable, "-m", "json.tool", "--no-such-flag"]).returncode == 2
