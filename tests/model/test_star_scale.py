"""The sample replicated with shifted ids, as the 1M-row measurement does, at 10x."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
import pytest

from rawgwh.model import INPUT_COLUMNS, build_star
from rawgwh.raw import parse_games
from rawgwh.warehouse.validate import run_checks

COPIES = 10


def replicate(base: pl.DataFrame, copies: int) -> pl.DataFrame:
    """``copies`` shifted copies of ``base``: new ids, releases a week apart per copy."""
    span = int(base.get_column("id").max()) + 1  # type: ignore[arg-type]
    return pl.concat(
        [
            base.with_columns(
                pl.col("id") + i * span,
                pl.col("released").dt.offset_by(f"{7 * i}d"),
                pl.col("updated").dt.offset_by(f"{i}s"),
            )
            for i in range(copies)
        ]
    )


@pytest.mark.slow
def test_replicated_sample_scales_linearly(sample_records: list[dict[str, Any]]) -> None:
    games = parse_games(sample_records, sync_id="s", fetched_at=datetime(2026, 1, 1)).games
    base = pl.from_arrow(games.select(list(INPUT_COLUMNS)))
    assert isinstance(base, pl.DataFrame)
    one = build_star(base).tables
    many = build_star(replicate(base, COPIES))
    for name, table in many.tables.items():
        if name.startswith(("bridge_", "fact_")):
            assert table.height == COPIES * one[name].height, name
        elif name != "dim_date":
            assert table.height == one[name].height, name
    assert all(r.passed for r in run_checks(many.to_arrow(), expected_games=COPIES * base.height))
