"""Small helpers shared by tests: settings for a temporary warehouse, reading it back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from rawgwh.secrets import Secret
from rawgwh.settings import Settings
from rawgwh.warehouse.catalog import Warehouse
from rawgwh.warehouse.raw_zone import RawZone


def make_settings(warehouse: Path, base_url: str, **overrides: Any) -> Settings:
    key = overrides.pop("api_key", "test-key-1234")
    values: dict[str, Any] = {
        "warehouse": str(warehouse),
        "base_url": base_url,
        "api_key": Secret(key) if key else None,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "timeout": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


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
