"""The same game versions give the same star, whatever their row order, chunks or batches.

Dimension attributes come from the most recently updated game version carrying the
member; versions updated at the same instant are a tie, broken by the greatest attribute
values (a non-null value beats null), never by which row came first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

from rawgwh.model import DIMENSIONS, STAR_TABLES, build_star, merge_star
from rawgwh.raw import parse_games

T0 = datetime(2026, 1, 1)


@pytest.fixture(scope="module")
def sample(sample_records: list[dict[str, Any]]) -> pa.Table:
    return parse_games(sample_records, sync_id="s", fetched_at=T0).games


def frame_of(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame


def assert_same_tables(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    for name in STAR_TABLES:
        assert_frame_equal(got[name], want[name], check_exact=True)


def test_sample_has_ties_between_games_updated_at_once(sample: pa.Table) -> None:
    """The sample holds the case under test: tag 1045 from two games updated at once."""
    tags = (
        frame_of(sample)
        .select("updated", pl.col("tags").alias("tag"))
        .explode("tag")
        .filter(pl.col("tag").struct.field("id") == 1045)
    )
    newest = tags.filter(pl.col("updated") == pl.col("updated").max())
    counts = newest.get_column("tag").struct.field("games_count").unique().sort().to_list()
    assert counts == [124, 129]


def test_repeated_and_reordered_builds_are_identical(sample: pa.Table) -> None:
    frame = frame_of(sample)
    first = build_star(frame).tables
    assert first["dim_tag"].filter(pl.col("tag_id") == 1045).get_column("games_count").item() == 129
    inputs = [
        frame,
        frame,
        frame.reverse(),
        *[frame.sample(fraction=1.0, shuffle=True, seed=seed) for seed in range(3)],
        frame_of(pa.Table.from_batches(sample.to_batches(max_chunksize=777))),
    ]
    for games in inputs:
        assert_same_tables(build_star(games).tables, first)
    assert_same_tables(build_star(frame.lazy()).tables, first)


@pytest.mark.parametrize("seed", [0, 1])
def test_dimensions_do_not_depend_on_batch_split(sample: pa.Table, seed: int) -> None:
    """Two batches in either order, merged, keep the full build's attributes."""
    frame = frame_of(sample).sample(fraction=1.0, shuffle=True, seed=seed)
    half = frame.height // 2
    full = build_star(frame).tables
    for first, second in [(frame[:half], frame[half:]), (frame[half:], frame[:half])]:
        previous = build_star(first).tables
        merged = merge_star(previous, build_star(second, previous))
        for dim in DIMENSIONS:
            # Surrogate keys follow arrival; compare the members through their natural ids.
            got = merged[dim.table].drop(dim.key).sort(dim.natural)
            assert_frame_equal(got, full[dim.table].drop(dim.key).sort(dim.natural))


def tagged(game_id: int, updated: str, **tag: Any) -> dict[str, Any]:
    return {"id": game_id, "updated": updated, "tags": [{"id": 1, **tag}]}


@pytest.mark.parametrize("flip", [False, True])
def test_tie_goes_to_greatest_values(flip: bool) -> None:
    at = "2024-01-01T00:00:00"
    records = [
        tagged(1, at, name="b", slug="b", language="eng", games_count=5),
        tagged(2, at, name="b", slug="b", language=None, games_count=9),
        tagged(3, at, name="a", slug="z", language="rus", games_count=99),
        tagged(4, "2023-12-31T00:00:00", name="z", slug="z", language="rus", games_count=99),
    ]
    if flip:
        records.reverse()
    games = frame_of(parse_games(records, sync_id="s", fetched_at=T0).games)
    dim = build_star(games).tables["dim_tag"]
    assert dim.select("name", "slug", "language", "games_count").rows() == [("b", "b", "eng", 5)]
    # Split in two batches: the previous dimension's tie-breaking is the same.
    for split in range(1, len(records)):
        previous = build_star(games[:split]).tables
        merged = merge_star(previous, build_star(games[split:], previous))
        assert_frame_equal(merged["dim_tag"], dim)
