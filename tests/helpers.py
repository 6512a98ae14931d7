"""Small helpers shared by tests: settings for a temporary warehouse, reading it back."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from rawgwh.secrets import Secret
from rawgwh.settings import Settings
from rawgwh.warehouse.catalog import Warehouse
from rawgwh.warehouse.raw_zone import RawZone

INTERRUPTED = "Interrupted: what was committed is kept; run the same command to resume."
#: ``python -c`` code running rawgwh with Ctrl-C raising KeyboardInterrupt, as in a terminal
#: (children of a background shell start with it ignored).
CTRL_C_ABLE = (
    "import signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "from rawgwh.cli import main\n"
    "main(sys.argv[1:])\n"
)
#: A query DuckDB spends seconds on, to press Ctrl-C during.
SLOW_SQL = (
    "SELECT count(*) AS n FROM range(1000000) a, range(1000) b WHERE (a.range + b.range) % 7 = 3"
)


@dataclass(frozen=True)
class StackTarget:
    """Where tests put warehouses on the full stack: Nessie on S3, one branch per test."""

    iceberg_uri: str
    s3_endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    branch: str

    @classmethod
    def on(cls, stack: Any, branch: str) -> StackTarget:
        """The target for ``stack`` (a ``tests/stack.py`` StackInfo) on ``branch``."""
        return cls(
            stack.iceberg_uri,
            stack.s3_endpoint,
            stack.bucket,
            stack.access_key,
            stack.secret_key,
            branch,
        )

    def values(self) -> dict[str, Any]:
        return {
            # Nessie places tables itself; a fresh prefix keeps each test's files apart.
            "warehouse": f"s3://{self.bucket}/tests/{uuid.uuid4().hex[:12]}",
            "branch": self.branch,
            "catalog": {
                "type": "rest",
                "uri": self.iceberg_uri,
                "s3.endpoint": self.s3_endpoint,
                "s3.access-key-id": self.access_key,
                "s3.secret-access-key": self.secret_key,
                "s3.region": "us-east-1",
                "s3.path-style-access": "true",
            },
        }


#: Set by the ``backend`` fixture: the stack this test runs on, or None (embedded).
BACKEND: StackTarget | None = None


def make_settings(warehouse: Path, base_url: str, **overrides: Any) -> Settings:
    """Settings for a test warehouse at ``warehouse``, or on the stack when the test runs
    with ``backend`` = stack (then each distinct folder maps to its own Nessie branch)."""
    key = overrides.pop("api_key", "test-key-1234")
    values: dict[str, Any] = {
        "warehouse": str(warehouse),
        "base_url": base_url,
        "api_key": Secret(key) if key else None,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "timeout": 5.0,
    }
    if BACKEND is not None:
        values.update(_stack_values(BACKEND, warehouse))
    values.update(overrides)
    return Settings(**values)


_stack_folders: dict[tuple[str, Path], dict[str, Any]] = {}


def _stack_values(target: StackTarget, warehouse: Path) -> dict[str, Any]:
    """The same local folder always means the same stack warehouse (a test may reopen it);
    a second folder in one test gets a branch of its own."""
    key = (target.branch, warehouse)
    if key not in _stack_folders:
        known = sum(1 for b, _ in _stack_folders if b == target.branch)
        branch = target.branch if known == 0 else f"{target.branch}-{known}"
        _stack_folders[key] = replace(target, branch=branch).values()
    return _stack_folders[key]


def settings_toml(settings: Settings, **extra: Any) -> str:
    """A rawgwh.toml naming the same warehouse as ``settings`` (for subprocess runs)."""
    lines = [f"{k} = {_toml(v)}" for k, v in extra.items()]
    lines.append(f"warehouse = {_toml(settings.warehouse)}")
    lines.append(f"branch = {_toml(settings.branch)}")
    if settings.catalog:
        lines.append("[catalog]")
        lines += [f"{_toml(k)} = {_toml(v)}" for k, v in settings.catalog_properties().items()]
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def raw_games(settings: Settings) -> pl.DataFrame:
    zone = RawZone(Warehouse.open(settings), create=False)
    frame = pl.from_arrow(zone.games.scan().to_arrow())
    assert isinstance(frame, pl.DataFrame)
    return frame


def latest(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort("updated").unique("id", keep="last").sort("id")


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``rawgwh ARGS`` in this process: its exit code, stdout and stderr."""
    from rawgwh.cli import main

    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    code = info.value.code
    return int(code) if code is not None else 0, out, err


@contextmanager
def ctrl_c_after(seconds: float) -> Iterator[None]:
    """Press Ctrl-C in this process after ``seconds``: a real SIGINT, as a terminal sends."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGINT, previous)
