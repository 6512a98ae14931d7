"""The benchmark harness measures a child's own peak memory, not its parent's."""

from __future__ import annotations

import sys

from benchmarks._proc import measure, product_python, rawgwh_cmd


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


def test_rawgwh_children_run_as_installed_without_the_benchmark_tools() -> None:
    """pyarrow imports pandas whenever it is installed: rawgwh's children must not pay for
    the benchmark's own tools (pandas, dlt, matplotlib), which a user's rawgwh lacks."""
    python = product_python()
    assert rawgwh_cmd("--version")[0] == python != sys.executable
    probe = (
        "import importlib.util as u, sys, pyarrow.dataset\n"
        "import benchmarks.compare.model\n"  # the harness's child modules are found
        "assert u.find_spec('rawgwh') is not None\n"
        "sys.exit(0 if 'pandas' not in sys.modules and u.find_spec('dlt') is None else 5)"
    )
    measured = measure([python, "-c", probe])
    assert measured.returncode == 0
    assert measured.peak_rss_mb > 10  # its own VmHWM was read, so the wrapper ran
