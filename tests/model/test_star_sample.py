"""The star built from the real 2015 sample against a plain-Python computation of the same."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

import polars as pl
import pytest

from rawgwh.model import StarBuild, build_star
from rawgwh.raw import parse_games

# list column -> (dimension, member path inside an entry, attributes kept)
LISTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "platforms": ("platform", ("platform",), ("name", "slug")),
    "parent_platforms": ("parent_platform", ("platform",), ("name", "slug")),
    "stores": ("store", ("store",), ("name", "slug", "domain")),
    "genres": ("genre", (), ("name", "slug", "games_count")),
    "tags": ("tag", (), ("name", "slug", "language", "games_count")),
}


@pytest.fixture(scope="module")
def star(sample_records: list[dict[str, Any]]) -> StarBuild:
    games = parse_games(sample_records, sync_id="s", fetched_at=datetime(2026, 1, 1)).games
    frame = pl.from_arrow(games)
    assert isinstance(frame, pl.DataFrame)
    return build_star(frame)


def member(entry: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for name in path:
        entry = entry.get(name) or {}
    return entry


def member_ids(record: dict[str, Any], column: str) -> set[int]:
    _, path, _ = LISTS[column]
    ids = (member(e or {}, path).get("id") for e in record.get(column) or [])
    return {i for i in ids if i is not None}


def test_one_fact_row_per_game(star: StarBuild, sample_records: list[dict[str, Any]]) -> None:
    fact = star.tables["fact_games"]
    assert fact.height == len({r["id"] for r in sample_records})
    assert fact.get_column("game_id").n_unique() == fact.height


@pytest.mark.parametrize("column", list(LISTS))
def test_bridge_rows_and_dimension_members(
    star: StarBuild, sample_records: list[dict[str, Any]], column: str
) -> None:
    name, _, _ = LISTS[column]
    expected_rows = sum(len(member_ids(r, column)) for r in sample_records)
    expected_members = set().union(*(member_ids(r, column) for r in sample_records))
    bridge = star.tables[f"bridge_game_{name}"]
    assert bridge.height == expected_rows
    dim = star.tables[f"dim_{name}"]
    assert set(dim.get_column(f"{name}_id").to_list()) == expected_members
    assert dim.get_column(f"{name}_key").sort().to_list() == list(range(1, dim.height + 1))
    counts = star.tables["fact_games"].get_column(f"{name}_count").sum()
    assert counts == expected_rows


@pytest.mark.parametrize("column", ["tags", "genres", "stores"])
def test_attributes_come_from_newest_game(
    star: StarBuild, sample_records: list[dict[str, Any]], column: str
) -> None:
    name, path, attributes = LISTS[column]
    seen: dict[int, list[tuple[str, tuple[Any, ...]]]] = defaultdict(list)
    for record in sample_records:
        for entry in record.get(column) or []:
            m = member(entry, path)
            if m.get("id") is not None:
                seen[m["id"]].append((record["updated"], tuple(m.get(a) for a in attributes)))
    expected = {}
    for member_id, versions in seen.items():
        newest = max(u for u, _ in versions)
        # Ties between games updated at the same instant go to the greatest values.
        tied = [v for u, v in versions if u == newest]
        expected[member_id] = max(tied, key=lambda v: [(x is not None, x) for x in v])
    dim = star.tables[f"dim_{name}"]
    got = {row[0]: tuple(row[1:]) for row in dim.select(f"{name}_id", *attributes).rows()}
    assert got == expected


def test_esrb_and_ratings(star: StarBuild, sample_records: list[dict[str, Any]]) -> None:
    esrb_ids = {r["esrb_rating"]["id"] for r in sample_records if r.get("esrb_rating")}
    dim = star.tables["dim_esrb_rating"]
    assert set(dim.get_column("esrb_rating_id").to_list()) == esrb_ids
    with_rating = sum(1 for r in sample_records if r.get("esrb_rating"))
    assert star.tables["fact_games"].get_column("esrb_rating_key").count() == with_rating
    rating_rows = sum(len({x["id"] for x in r.get("ratings") or []}) for r in sample_records)
    assert star.tables["fact_game_ratings"].height == rating_rows


def test_dim_date_covers_release_range(
    star: StarBuild, sample_records: list[dict[str, Any]]
) -> None:
    released = [date.fromisoformat(r["released"]) for r in sample_records if r.get("released")]
    dates = star.tables["dim_date"].get_column("date")
    assert dates.min() == min(released) and dates.max() == max(released)
    assert dates.len() == (max(released) - min(released)).days + 1


def test_fact_columns_for_a_few_games(
    star: StarBuild, sample_records: list[dict[str, Any]]
) -> None:
    fact = star.tables["fact_games"]
    esrb_keys = dict(
        star.tables["dim_esrb_rating"].select("esrb_rating_key", "esrb_rating_id").rows()
    )
    for record in sample_records[:: len(sample_records) // 7]:
        row = fact.filter(pl.col("game_id") == record["id"]).row(0, named=True)
        status = record.get("added_by_status") or {}
        released = record.get("released")
        assert row["name"] == record["name"] and row["slug"] == record["slug"]
        assert row["updated"] == datetime.fromisoformat(record["updated"])
        assert row["rating"] == record["rating"] and row["metacritic"] == record["metacritic"]
        assert row["added_owned"] == status.get("owned")
        assert row["added_playing"] == status.get("playing")
        assert row["released_date_key"] == (int(released.replace("-", "")) if released else None)
        esrb = record.get("esrb_rating")
        assert esrb_keys.get(row["esrb_rating_key"]) == (esrb["id"] if esrb else None)
        assert row["tag_count"] == len(member_ids(record, "tags"))
