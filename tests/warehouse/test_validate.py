"""Each validation check passes on a good build and fails, by name, on a broken table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from rawgwh.errors import ValidationFailed
from rawgwh.model import build_star
from rawgwh.raw import parse_games
from rawgwh.warehouse.validate import (
    CheckResult,
    check_delta_totals,
    raise_if_failed,
    run_checks,
)

Tables = dict[str, pa.Table]


def good_star() -> Tables:
    records: list[dict[str, Any]] = [
        {
            "id": game_id,
            "updated": "2024-01-01T00:00:00",
            "name": f"g{game_id}",
            "released": f"2015-01-0{game_id}",
            "esrb_rating": {"id": 4, "name": "Mature", "slug": "mature"},
            "platforms": [{"platform": {"id": 4, "name": "PC", "slug": "pc"}}],
            "parent_platforms": [{"platform": {"id": 1, "name": "PC", "slug": "pc"}}],
            "stores": [{"id": 10 + game_id, "store": {"id": 1, "name": "Steam", "slug": "steam"}}],
            "genres": [{"id": 3, "name": "RPG", "slug": "rpg"}],
            "tags": [{"id": 31, "name": "Singleplayer"}, {"id": 7, "name": "Multiplayer"}],
            "ratings": [{"id": 5, "title": "exceptional", "count": 2, "percent": 100.0}],
        }
        for game_id in (1, 2, 3)
    ]
    games = pl.from_arrow(parse_games(records, sync_id="s", fetched_at=datetime(2026, 1, 1)).games)
    assert isinstance(games, pl.DataFrame)
    return build_star(games).to_arrow()


def duplicate_first_row(table: str) -> Callable[[Tables], None]:
    def apply(tables: Tables) -> None:
        tables[table] = pa.concat_tables([tables[table], tables[table].slice(0, 1)])

    return apply


def set_value(table: str, column: str, value: Any) -> Callable[[Tables], None]:
    """Set ``column`` of the first row; the type stays, so nulls get in too."""

    def apply(tables: Tables) -> None:
        t = tables[table]
        values = t.column(column).to_pylist()
        values[0] = value
        i = t.schema.get_field_index(column)
        field = t.schema.field(i).with_nullable(True)
        tables[table] = t.set_column(i, field, pa.array(values, type=field.type))

    return apply


def test_good_build_passes_every_check() -> None:
    results = run_checks(good_star(), expected_games=3)
    assert results and all(r.passed for r in results)
    raise_if_failed(results)


BROKEN = [
    ("unique:dim_platform.platform_key", duplicate_first_row("dim_platform")),
    ("unique:dim_tag.tag_key", set_value("dim_tag", "tag_key", 2)),
    ("unique:dim_tag.tag_id", set_value("dim_tag", "tag_id", 31)),
    ("unique:dim_date.date_key", duplicate_first_row("dim_date")),
    ("unique:dim_esrb_rating.esrb_rating_id", duplicate_first_row("dim_esrb_rating")),
    ("unique:fact_games.game_id", set_value("fact_games", "game_id", 2)),
    ("unique:bridge_game_tag(game_id, tag_key)", duplicate_first_row("bridge_game_tag")),
    ("unique:fact_game_ratings(game_id, rating_id)", duplicate_first_row("fact_game_ratings")),
    ("fk:bridge_game_store.store_key->dim_store", set_value("bridge_game_store", "store_key", 99)),
    ("fk:bridge_game_genre.game_id->fact_games", set_value("bridge_game_genre", "game_id", 99)),
    ("fk:fact_games.released_date_key->dim_date", set_value("fact_games", "released_date_key", 1)),
    (
        "fk:fact_games.esrb_rating_key->dim_esrb_rating",
        set_value("fact_games", "esrb_rating_key", 9),
    ),
    ("not_null:dim_genre", set_value("dim_genre", "genre_id", None)),
    ("not_null:bridge_game_platform", set_value("bridge_game_platform", "platform_key", None)),
]


@pytest.mark.parametrize(("check", "breakage"), BROKEN, ids=[c for c, _ in BROKEN])
def test_broken_table_fails_its_check(check: str, breakage: Callable[[Tables], None]) -> None:
    tables = good_star()
    breakage(tables)
    results = {r.name: r for r in run_checks(tables, expected_games=3)}
    assert check in results, sorted(results)
    failed = results[check]
    assert not failed.passed and failed.failing_rows >= 1
    assert 1 <= len(failed.examples) <= 5
    with pytest.raises(ValidationFailed) as error:
        raise_if_failed(list(results.values()))
    message = str(error.value)
    assert check in message and "\n" not in message
    assert check in error.value.failures


def test_row_count_against_expected_games() -> None:
    tables = good_star()
    assert all(r.passed for r in run_checks(tables, expected_games=None))
    results = [r for r in run_checks(tables, expected_games=4) if not r.passed]
    assert [r.name for r in results] == ["row_count:fact_games"]
    assert results[0].examples == ["fact_rows=3, expected_games=4"]


def test_missing_table_fails() -> None:
    tables = good_star()
    del tables["dim_tag"]
    results = run_checks(tables, expected_games=3)
    assert [r.name for r in results if not r.passed] == ["tables_present"]


def test_message_names_failures_with_an_example() -> None:
    results = [
        CheckResult("a", passed=True),
        CheckResult("unique:x.y", passed=False, failing_rows=2, examples=["y=1, copies=2"]),
    ]
    with pytest.raises(
        ValidationFailed, match=r"1 check\(s\) failed: unique:x.y \(2 rows, e.g. y=1"
    ):
        raise_if_failed(results)


def delta_totals(**overrides: Any) -> list[CheckResult]:
    star = good_star()
    dims = {n: t for n, t in star.items() if n.startswith("dim_")}
    args: dict[str, Any] = {
        "previous_dims": dims,
        "dims": dims,
        "kept_ids": pa.array([1, 2], pa.int64()),
        "new_ids": star["fact_games"].column("game_id").filter(pa.array([False, False, True])),
        "expected_games": 3,
    }
    args.update(overrides)
    return check_delta_totals(**args)


def test_delta_totals_pass_on_a_consistent_delta() -> None:
    results = delta_totals()
    assert results and all(r.passed for r in results)
    names = {r.name for r in results}
    assert {"row_count:fact_games", "unique:fact_games.game_id", "keys_kept:dim_tag"} <= names


def test_delta_totals_fail_by_name() -> None:
    short = [r for r in delta_totals(expected_games=4) if not r.passed]
    assert [(r.name, r.examples) for r in short] == [
        ("row_count:fact_games", ["fact_rows=3, expected_games=4"])
    ]

    twice = [r for r in delta_totals(kept_ids=pa.array([1, 3], pa.int64())) if not r.passed]
    assert [(r.name, r.examples) for r in twice] == [
        ("unique:fact_games.game_id", ["game_id=3, copies=2"])
    ]

    star = good_star()
    tags = star["dim_tag"]
    rekeyed = tags.set_column(0, tags.schema.field(0), pa.array(range(100, 100 + tags.num_rows)))
    dims = {n: t for n, t in star.items() if n.startswith("dim_")}
    lost = [r for r in delta_totals(dims={**dims, "dim_tag": rekeyed}) if not r.passed]
    assert [r.name for r in lost] == ["keys_kept:dim_tag"]
    assert lost[0].failing_rows == tags.num_rows
