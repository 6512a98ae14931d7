"""The package's public names resolve, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import rawgwh


def test_every_public_name_resolves() -> None:
    for name in rawgwh.__all__:
        assert getattr(rawgwh, name) is not None, name


def test_importing_the_package_loads_no_heavy_library() -> None:
    code = (
        "import sys, rawgwh; "
        "print(','.join(m for m in ('polars', 'pyiceberg', 'duckdb', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
