"""A QueryEngine over a real warehouse: the latest publish, and time travel with --as-of."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import make_settings

from rawgwh.errors import QueryError
from rawgwh.query.warehouse import open_warehouse_engine, parse_as_of
from rawgwh.raw import parse_games, rejects_table
from rawgwh.raw.state import SyncState
from rawgwh.settings import Settings
from rawgwh.warehouse import publish
from rawgwh.warehouse.catalog import Warehouse
from rawgwh.warehouse.publish import publish_star
from rawgwh.warehouse.raw_zone import RawZone
from rawgwh.warehouse.star_zone import StarZone


@dataclass(frozen=True)
class Published:
    settings: Settings
    game: int  # a game whose rating changed between the two publishes
    first: dict[str, int]  # snapshot ids of the first publish
    first_ms: int  # when the first publish finished


def _commit(wh: Warehouse, records: list[dict[str, Any]], sync_id: str) -> None:
    at = datetime(2025, 1, 1)
    parsed = parse_games(records, sync_id=sync_id, fetched_at=at)
    rejects = rejects_table(parsed.rejects, sync_id=sync_id, fetched_at=at)
    RawZone(wh).commit(parsed.games, rejects, SyncState(), sync_id=sync_id)


@pytest.fixture(scope="module")
def published(
    tmp_path_factory: pytest.TempPathFactory, sample_records: list[dict[str, Any]]
) -> Published:
    settings = make_settings(tmp_path_factory.mktemp("q") / "wh", "http://127.0.0.1:9")
    wh = Warehouse.open(settings, create=True)
    _commit(wh, sample_records, "s1")
    publish_star(wh, sync_id="s1")
    star = StarZone(wh)
    first = star.current_ids()
    snapshot = star.tables["fact_games"].snapshot_by_id(first["fact_games"])
    assert snapshot is not None
    first_ms = snapshot.timestamp_ms
    changed = copy.deepcopy(sample_records[0])
    changed["updated"] = "2030-01-01T00:00:00"
    changed["rating"] = 4.99
    _commit(wh, [changed], "s2")
    publish_star(wh, sync_id="s2", changed_ids=[changed["id"]])
    return Published(settings, changed["id"], first, first_ms)


def _rating(settings: Settings, game: int, as_of: str | None = None) -> Any:
    with open_warehouse_engine(settings, as_of=as_of) as engine:
        result = engine.query(f"SELECT rating FROM fact_games WHERE game_id = {game}")
        return result.column(0)[0].as_py()


def test_latest_publish_and_raw_zone_are_queryable(published: Published) -> None:
    with open_warehouse_engine(published.settings) as engine:
        assert "fact_games" in engine.tables and "raw_games" in engine.tables
        assert "raw_rejects" in engine.tables
        counts = engine.query(
            "SELECT (SELECT count(*) FROM fact_games), (SELECT count(*) FROM raw_games),"
            " (SELECT count(*) FROM raw_rejects)"
        ).to_pylist()[0]
    assert list(counts.values()) == [10_000, 10_001, 0]
    assert _rating(published.settings, published.game) == 4.99


def test_as_of_a_snapshot_id_reads_that_whole_publish(published: Published) -> None:
    # A dimension's snapshot id: every table is read at the same publish (same sync-id).
    as_of = str(published.first["dim_tag"])
    assert _rating(published.settings, published.game, as_of) != 4.99
    with open_warehouse_engine(published.settings, as_of=as_of) as engine:
        assert engine.query("SELECT count(*) AS n FROM raw_games").column(0)[0].as_py() == 10_000


def test_as_of_a_timestamp(published: Published) -> None:
    moment = datetime.fromtimestamp(published.first_ms / 1000, UTC).isoformat()
    assert _rating(published.settings, published.game, moment) != 4.99
    assert _rating(published.settings, published.game, "2999-01-01T00:00:00Z") == 4.99


def test_unknown_snapshot_and_too_early_timestamp_are_errors(published: Published) -> None:
    with pytest.raises(QueryError, match="no table has a snapshot"):
        open_warehouse_engine(published.settings, as_of="1234567890123")
    with pytest.raises(QueryError, match="held nothing yet"):
        open_warehouse_engine(published.settings, as_of="2001-01-01")
    with pytest.raises(QueryError, match="neither a snapshot id nor a timestamp"):
        open_warehouse_engine(published.settings, as_of="yesterday")


def test_parse_as_of() -> None:
    assert parse_as_of("4911651238651849012") == 4911651238651849012
    assert parse_as_of("2025-06-01") == datetime(2025, 6, 1, tzinfo=UTC)
    assert parse_as_of("2025-06-01T12:00:00Z") == datetime(2025, 6, 1, 12, tzinfo=UTC)


def test_a_half_finished_publish_is_not_read(
    tmp_path: Path, sample_records: list[dict[str, Any]]
) -> None:
    settings = make_settings(tmp_path / "wh", "http://127.0.0.1:9")
    wh = Warehouse.open(settings, create=True)
    _commit(wh, sample_records[:100], "s1")
    publish_star(wh, sync_id="s1")
    star = StarZone(wh)
    # A crash right after dim_tag's commit: an empty snapshot, the marker not moved.
    publish._commit(star.tables["dim_tag"], star.files("dim_tag"), [], "crashed")

    with open_warehouse_engine(settings) as engine:
        assert engine.query("SELECT count(*) FROM dim_tag").column(0)[0].as_py() > 0


def test_empty_star_tables_have_their_columns(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "wh", "http://127.0.0.1:9")
    wh = Warehouse.open(settings, create=True)
    StarZone(wh)  # tables created, nothing published
    RawZone(wh)
    with open_warehouse_engine(settings) as engine:
        assert engine.query("SELECT count(*) FROM fact_games").column(0)[0].as_py() == 0
        assert "release_year" in engine.schema("fact_games").names
