"""A QueryEngine over a real warehouse: the latest publish, and time travel with --as-of."""

from __future__ import annotations

import copy
import json
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import make_settings

from rawgwh.errors import QueryError, WarehouseError
from rawgwh.query import fastpath
from rawgwh.query.warehouse import open_warehouse_engine, parse_as_of, select_snapshots
from rawgwh.raw import parse_games, rejects_table
from rawgwh.raw.state import SyncState
from rawgwh.settings import Settings
from rawgwh.warehouse import publish
from rawgwh.warehouse.catalog import Warehouse
from rawgwh.warehouse.publish import publish_star
from rawgwh.warehouse.raw_zone import RAW_GAMES, RawZone
from rawgwh.warehouse.star_zone import StarZone, data_files, local_path


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


@pytest.mark.parametrize("fast", [True, False])
def test_a_kept_engine_loads_tables_read_again_unless_told_not_to(
    published: Published, fast: bool
) -> None:
    sql = "SELECT max(f.rating) FROM fact_games f JOIN raw_games r ON r.id = f.game_id"
    with open_warehouse_engine(published.settings, fast=fast) as engine:
        first = engine.query(sql)
        assert engine.cached == ()
        assert engine.query(sql) == first
        assert set(engine.cached) == {"fact_games", "raw_games"}
    with open_warehouse_engine(published.settings, fast=fast, cache_bytes=0) as engine:
        engine.query(sql)
        engine.query(sql)
        assert engine.cached == ()


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
    publish._commit(star.tables["dim_tag"], star.files("dim_tag"), [], "crashed", "full")

    with open_warehouse_engine(settings) as engine:
        assert engine.query("SELECT count(*) FROM dim_tag").column(0)[0].as_py() > 0


def _star_counts(settings: Settings, *, fast: bool = True, as_of: str | None = None) -> list[int]:
    sql = "SELECT (SELECT count(*) FROM dim_tag), (SELECT count(*) FROM bridge_game_tag), "
    sql += "(SELECT count(*) FROM fact_games), (SELECT count(*) FROM raw_games)"
    with open_warehouse_engine(settings, fast=fast, as_of=as_of) as engine:
        return list(engine.query(sql).to_pylist()[0].values())


@pytest.mark.parametrize("fast", [True, False])
def test_a_first_publish_killed_part_way_reads_as_nothing_published(
    tmp_path: Path,
    sample_records: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    fast: bool,
) -> None:
    settings = make_settings(tmp_path / "wh", "http://127.0.0.1:9")
    wh = Warehouse.open(settings, create=True)
    _commit(wh, sample_records[:100], "s1")
    commit, done = publish._commit, []

    def dies_after_eight(*args: Any) -> int:
        if len(done) == 8:
            raise KeyboardInterrupt  # killed between two table commits
        done.append(commit(*args))
        return done[-1]

    monkeypatch.setattr(publish, "_commit", dies_after_eight)
    with pytest.raises(KeyboardInterrupt):
        publish_star(wh, sync_id="s1")
    monkeypatch.undo()
    star = StarZone(wh)
    half = star.current_ids()
    assert "dim_tag" in half and "fact_games" not in half  # some tables hold rows, not all

    # Now, at any moment, and at a snapshot of that publish: no star, the raw zone as it is.
    assert _star_counts(settings, fast=fast) == [0, 0, 0, 100]
    assert _star_counts(settings, as_of="2999-01-01") == [0, 0, 0, 100]
    assert _star_counts(settings, as_of=str(half["dim_tag"])) == [0, 0, 0, 100]

    publish_star(wh, sync_id="s2")  # the next build publishes the whole star
    tags = _star_counts(settings, fast=fast)
    assert tags[0] > 0 and tags[1] > 0 and tags[2:] == [100, 100]
    assert _star_counts(settings, as_of="2999-01-01") == tags
    # The unfinished publish's snapshot still reads as what readers saw then: nothing.
    assert _star_counts(settings, as_of=str(half["dim_tag"])) == [0, 0, 0, 100]


def test_empty_star_tables_have_their_columns(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "wh", "http://127.0.0.1:9")
    wh = Warehouse.open(settings, create=True)
    StarZone(wh)  # tables created, nothing published
    RawZone(wh)
    with open_warehouse_engine(settings) as engine:
        assert engine.query("SELECT count(*) FROM fact_games").column(0)[0].as_py() == 0
        assert "release_year" in engine.schema("fact_games").names


# --- the fast path (no pyiceberg) against pyiceberg ------------------------------------


def _pyiceberg_files(settings: Settings) -> dict[str, list[str]]:
    wh = Warehouse.open(settings)
    return {
        name: [local_path(f) for f in at.files()] for name, at in select_snapshots(wh, None).items()
    }


def _describe(settings: Settings, *, fast: bool) -> dict[str, list[tuple[str, str]]]:
    with open_warehouse_engine(settings, fast=fast) as engine:
        return {
            name: [(r["column_name"], r["column_type"]) for r in engine.describe(name).to_pylist()]
            for name in engine.tables
        }


def test_fast_path_lists_the_files_pyiceberg_does(published: Published) -> None:
    latest = fastpath.latest_tables(published.settings.warehouse_path)
    assert latest.files == _pyiceberg_files(published.settings)
    assert latest.columns == {"raw_rejects": latest.columns["raw_rejects"]}  # the only empty one
    assert _describe(published.settings, fast=True) == _describe(published.settings, fast=False)


def test_fast_path_agrees_on_every_snapshot(published: Published) -> None:
    # Copy-on-write publishes leave DELETED manifest entries and existing files behind.
    wh = Warehouse.open(published.settings)
    star = StarZone(wh, create=False)
    tables = {**star.tables, "raw_games": wh.table("raw.games")}
    checked = 0
    for table in tables.values():
        metadata = json.loads(Path(local_path(table.metadata_location) or "").read_text())
        for snapshot in table.snapshots():
            expected = [f.file_path for f in data_files(table, snapshot.snapshot_id)]
            assert fastpath.snapshot_files(metadata, snapshot.snapshot_id) == expected
            checked += 1
    assert checked > len(tables)


def test_fast_path_follows_the_marker_past_a_half_finished_publish(
    tmp_path: Path, sample_records: list[dict[str, Any]]
) -> None:
    settings = make_settings(tmp_path / "wh", "http://127.0.0.1:9")
    wh = Warehouse.open(settings, create=True)
    _commit(wh, sample_records[:100], "s1")
    publish_star(wh, sync_id="s1")
    star = StarZone(wh)
    publish._commit(star.tables["dim_tag"], star.files("dim_tag"), [], "crashed", "full")

    latest = fastpath.latest_tables(settings.warehouse_path)
    assert latest.files == _pyiceberg_files(settings)
    assert latest.files["dim_tag"]


def test_fast_path_empty_tables_have_pyiceberg_types(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "wh", "http://127.0.0.1:9")
    wh = Warehouse.open(settings, create=True)
    StarZone(wh)
    RawZone(wh)
    latest = fastpath.latest_tables(settings.warehouse_path)
    assert not any(latest.files.values()) and set(latest.columns) == set(latest.files)
    assert _describe(settings, fast=True) == _describe(settings, fast=False)


def test_as_of_does_not_take_the_fast_path(
    published: Published, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(root: Path) -> None:
        raise AssertionError("time travel must use pyiceberg")

    monkeypatch.setattr(fastpath, "latest_tables", fail)
    assert _rating(published.settings, published.game, str(published.first["dim_tag"])) != 4.99


def test_anything_unexpected_falls_back_to_pyiceberg(
    published: Published, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(root: Path) -> None:
        raise fastpath.Unsupported("say, an unknown codec")

    monkeypatch.setattr(fastpath, "latest_tables", unsupported)
    assert _rating(published.settings, published.game) == 4.99


def test_no_warehouse_is_still_the_catalog_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "nothing", "http://127.0.0.1:9")
    with pytest.raises(WarehouseError, match="no warehouse at"):
        open_warehouse_engine(settings)


def test_a_marker_naming_an_unknown_snapshot_falls_back(tmp_path: Path) -> None:
    metadata = {"format-version": 2, "current-snapshot-id": 1, "snapshots": []}
    with pytest.raises(fastpath.Unsupported):
        fastpath.snapshot_files(metadata, 42)
    assert fastpath.snapshot_files({"format-version": 2, "current-snapshot-id": -1}) == []


@pytest.mark.parametrize(
    "location",
    ["s3://bucket/wh/metadata/x.avro", "gs://b/x", "file://otherhost/x", "https://h/x"],
)
def test_remote_locations_are_unsupported(location: str) -> None:
    with pytest.raises(fastpath.Unsupported):
        fastpath.local_file(location)


def test_avro_reader_rejects_what_it_cannot_read() -> None:
    with pytest.raises(fastpath.Unsupported, match="not an Avro file"):
        list(fastpath.read_avro(b"PAR1...."))
    header = b"Obj\x01" + b"\x04" + _avro_str("avro.schema") + _avro_str('"long"')
    header += _avro_str("avro.codec") + _avro_str("snappy") + b"\x00" + b"S" * 16
    with pytest.raises(fastpath.Unsupported, match="codec snappy"):
        list(fastpath.read_avro(header))


def test_avro_reader_decodes_a_null_codec_file() -> None:
    schema = json.dumps(
        {
            "type": "record",
            "name": "r",
            "fields": [
                {"name": "a", "type": ["null", "long"]},
                {"name": "s", "type": {"type": "array", "items": "string"}},
                {"name": "m", "type": {"type": "map", "values": "double"}},
                {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["X", "Y"]}},
                {"name": "f", "type": {"type": "fixed", "name": "F", "size": 2}},
                {"name": "again", "type": ["null", "E"]},
            ],
        }
    )
    sync = b"0123456789abcdef"
    record = b"\x02" + _avro_long(-3) + b"\x02" + _avro_str("hi") + b"\x00"
    record += b"\x02" + _avro_str("k") + struct.pack("<d", 0.5)
    record += b"\x00" + _avro_long(1) + b"ab" + b"\x00"
    data = b"Obj\x01" + _avro_long(1) + _avro_str("avro.schema") + _avro_str(schema) + b"\x00"
    data += sync + _avro_long(1) + _avro_long(len(record)) + record + sync
    assert list(fastpath.read_avro(data)) == [
        {"a": -3, "s": ["hi"], "m": {"k": 0.5}, "e": "Y", "f": b"ab", "again": None}
    ]


def _avro_long(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _avro_str(s: str) -> bytes:
    b = s.encode()
    return _avro_long(len(b)) + b


def test_fast_path_constants_match_the_writers() -> None:
    from rawgwh.warehouse import catalog, origin, star_zone

    assert fastpath.CATALOG_FILE == catalog.CATALOG_FILE == origin.CATALOG_FILE
    assert fastpath.CATALOG_NAME == origin.CATALOG_NAME
    assert fastpath.STAR_NAMESPACE == star_zone.STAR_NAMESPACE
    assert fastpath.PUBLISHED_PROPERTY == star_zone.PUBLISHED_PROPERTY
    assert f"{fastpath.RAW_NAMESPACE}.games" == RAW_GAMES


def test_sql_types() -> None:
    assert fastpath.sql_type("decimal(9, 2)") == "DECIMAL(9,2)"
    assert fastpath.sql_type({"type": "map", "key": "string", "value": "long"}) == (
        "MAP(VARCHAR, BIGINT)"
    )
    with pytest.raises(fastpath.Unsupported):
        fastpath.sql_type("variant")


@pytest.mark.parametrize("fast", [True, False])
def test_a_table_whose_schema_grew_reads_old_files_with_nulls(
    tmp_path: Path, sample_records: list[dict[str, Any]], fast: bool
) -> None:
    """Files written before a column was added lack it; the view still lines columns up."""
    import pyarrow as pa
    from pyiceberg.types import StringType

    settings = make_settings(tmp_path / "wh", "http://127.0.0.1:9")
    wh = Warehouse.open(settings, create=True)
    _commit(wh, sample_records[:50], "s1")
    table = wh.table(RAW_GAMES)
    with table.update_schema() as update:
        update.add_column("note", StringType())
    rows = table.scan(limit=1).to_arrow().drop_columns(["note"])
    rows = rows.append_column("note", pa.array(["added later"], pa.large_string()))
    table.append(rows.cast(table.schema().as_arrow()))
    with open_warehouse_engine(settings, fast=fast) as engine:
        notes = engine.query("SELECT note, count(*) AS n FROM raw_games GROUP BY ALL ORDER BY 1")
    assert notes.to_pylist() == [{"note": "added later", "n": 1}, {"note": None, "n": 50}]
