"""The star model on small hand-written games: each rule of the spec, one test."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl

import rawgwh.model
from rawgwh.model import (
    STAR_SCHEMAS,
    STAR_TABLES,
    build_star,
    latest_versions,
    merge_star,
)
from rawgwh.raw import empty_games, parse_games

T0 = datetime(2026, 1, 1)


def game(game_id: int, updated: str = "2024-01-01T00:00:00", **fields: Any) -> dict[str, Any]:
    return {"id": game_id, "updated": updated, "name": f"game {game_id}", **fields}


def raw(*records: dict[str, Any], fetched_at: datetime = T0) -> pl.DataFrame:
    frame = pl.from_arrow(parse_games(records, sync_id="s", fetched_at=fetched_at).games)
    assert isinstance(frame, pl.DataFrame)
    return frame


def platform(pid: int | None, name: str = "P", released_at: str | None = None) -> dict[str, Any]:
    return {"platform": {"id": pid, "name": name, "slug": name.lower()}, "released_at": released_at}


def test_public_api_is_exported() -> None:
    for name in rawgwh.model.__all__:
        assert hasattr(rawgwh.model, name), name
    assert list(STAR_SCHEMAS) == list(STAR_TABLES)


def test_empty_input_gives_empty_tables_with_exact_schemas() -> None:
    build = build_star(pl.from_arrow(empty_games()))  # type: ignore[arg-type]
    tables = build.to_arrow()
    assert list(tables) == list(STAR_TABLES)
    for name, table in tables.items():
        assert table.num_rows == 0, name
        assert table.schema == STAR_SCHEMAS[name], name
    assert build.game_ids.len() == 0


def test_arrow_schemas_match_on_real_rows() -> None:
    build = build_star(raw(game(1, released="2015-10-23", tags=[{"id": 1, "name": "x"}])))
    for name, table in build.to_arrow().items():
        assert table.schema == STAR_SCHEMAS[name], name


def test_latest_version_wins_by_updated_then_fetched_at() -> None:
    versions = pl.concat(
        [
            raw(game(1, "2024-01-02T00:00:00", name="old fetch"), fetched_at=T0),
            raw(game(1, "2024-01-02T00:00:00", name="new fetch"), fetched_at=datetime(2026, 2, 1)),
            raw(game(1, "2024-01-01T00:00:00", name="older"), fetched_at=datetime(2026, 3, 1)),
            raw(game(2, name="only")),
        ]
    )
    latest = latest_versions(versions.lazy()).collect().sort("id")
    assert latest.get_column("name").to_list() == ["new fetch", "only"]
    fact = build_star(versions).tables["fact_games"]
    assert fact.sort("game_id").get_column("name").to_list() == ["new fetch", "only"]


def test_duplicates_nulls_and_empty_lists_in_bridges() -> None:
    build = build_star(
        raw(
            game(
                1,
                platforms=[
                    platform(4, released_at="2015-02-01"),
                    platform(4, released_at="2015-01-01"),
                    platform(None),
                ],
                tags=[{"id": 7, "name": "t"}, {"id": 7, "name": "t"}, {"id": None}],
                ratings=[{"id": 5, "title": "a", "count": 1, "percent": 50.0}, {"id": None}],
            ),
            game(2, platforms=None, tags=[], genres=None, stores=None, ratings=[]),
        )
    )
    tables = build.tables
    bridge = tables["bridge_game_platform"]
    assert bridge.to_dicts() == [{"game_id": 1, "platform_key": 1, "released_at": date(2015, 1, 1)}]
    assert tables["bridge_game_tag"].height == 1
    assert tables["fact_game_ratings"].height == 1
    assert tables["dim_platform"].get_column("platform_id").to_list() == [4]
    counts = tables["fact_games"].sort("game_id").select("platform_count", "tag_count")
    assert counts.rows() == [(1, 1), (0, 0)]


def test_fact_columns_and_foreign_keys() -> None:
    record = game(
        9,
        released="2015-10-23",
        added_by_status={"owned": 3, "beaten": 1},
        esrb_rating={"id": 4, "name": "Mature", "slug": "mature"},
        stores=[
            {"id": 77, "store": {"id": 1, "name": "Steam", "slug": "steam", "domain": "s.com"}}
        ],
    )
    tables = build_star(raw(record, game(10))).tables
    fact = tables["fact_games"].sort("game_id")
    row = fact.row(0, named=True)
    assert row["released_date_key"] == 20151023 and row["release_year"] == 2015
    assert row["added_owned"] == 3 and row["added_yet"] is None
    assert row["esrb_rating_key"] == tables["dim_esrb_rating"].item(0, "esrb_rating_key")
    assert fact.row(1, named=True)["esrb_rating_key"] is None
    assert fact.row(1, named=True)["released_date_key"] is None
    assert tables["bridge_game_store"].item(0, "store_entry_id") == 77
    assert tables["dim_store"].item(0, "domain") == "s.com"
    # Game id order: incremental publishes find a game's file by its id bounds.
    assert fact.sort("game_id").equals(tables["fact_games"])


def test_dim_date_spans_releases_and_keeps_previous_range() -> None:
    first = build_star(raw(game(1, released="2015-12-28"), game(2, released="2016-01-03")))
    dates = first.tables["dim_date"]
    assert dates.height == 7
    new_year = dates.filter(pl.col("date") == date(2016, 1, 3)).row(0, named=True)
    assert new_year == {
        "date_key": 20160103,
        "date": date(2016, 1, 3),
        "year": 2016,
        "quarter": 1,
        "month": 1,
        "day": 3,
        "weekday": 7,
        "day_name": "Sunday",
        "month_name": "January",
        "iso_week": 53,
        "iso_year": 2015,
        "is_weekend": True,
    }
    later = build_star(raw(game(3, released="2016-01-05")), first.tables)
    assert later.tables["dim_date"].get_column("date").to_list()[0] == date(2015, 12, 28)
    assert later.tables["dim_date"].height == 9


def test_keys_last_and_attributes_update_in_place() -> None:
    first = build_star(
        raw(game(1, platforms=[platform(4, "PC"), platform(1, "Xbox")]), game(2, tags=[{"id": 3}]))
    )
    keys = dict(first.tables["dim_platform"].select("platform_id", "platform_key").rows())
    assert keys == {1: 1, 4: 2}
    second = build_star(
        raw(game(1, "2025-01-01T00:00:00", platforms=[platform(7), platform(4, "Windows")])),
        first.tables,
    )
    dim = second.tables["dim_platform"]
    assert dict(dim.select("platform_id", "platform_key").rows()) == {1: 1, 4: 2, 7: 3}
    assert dict(dim.select("platform_id", "name").rows())[4] == "Windows"
    # Not referenced by the new build, yet still there.
    assert second.tables["dim_tag"].get_column("tag_id").to_list() == [3]


def test_incremental_replaces_rows_of_a_changed_game() -> None:
    v1 = raw(game(1, tags=[{"id": 3}], platforms=[platform(4)]), game(2, tags=[{"id": 3}]))
    first = build_star(v1)
    v2 = raw(game(1, "2025-01-01T00:00:00", name="renamed", tags=[], platforms=None))
    changed = pl.concat([v1.filter(pl.col("id") == 1), v2])
    merged = merge_star(first.tables, build_star(changed, first.tables))
    assert merged["bridge_game_tag"].get_column("game_id").to_list() == [2]
    assert merged["bridge_game_platform"].height == 0
    assert merged["fact_games"].sort("game_id").get_column("name").to_list() == [
        "renamed",
        "game 2",
    ]
    assert merged["dim_platform"].get_column("platform_id").to_list() == [4]
