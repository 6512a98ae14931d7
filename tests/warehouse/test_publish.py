"""Publishing the star from the raw zone: real SQLite catalogs, real Parquet, the real sample."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
from helpers import make_settings
from polars.testing import assert_frame_equal

from rawgwh.errors import ValidationFailed
from rawgwh.model import DIMENSIONS, GAME_TABLES, STAR_TABLES, build_star
from rawgwh.raw import parse_games, rejects_table
from rawgwh.raw.state import SYNC_ID_PROPERTY, SyncState
from rawgwh.warehouse import publish, star_zone
from rawgwh.warehouse.catalog import Warehouse
from rawgwh.warehouse.publish import (
    changed_since_publish,
    check_published,
    publish_star,
    validate_star,
)
from rawgwh.warehouse.raw_zone import RawZone
from rawgwh.warehouse.star_zone import StarZone, read_files

FIRST = datetime(2025, 1, 1)
LATER = datetime(2025, 6, 1)

# Run on the embedded warehouse and on the full stack (Nessie + S3).
pytestmark = pytest.mark.usefixtures("backend")


def commit_raw(wh: Warehouse, records: list[dict[str, Any]], sync_id: str, at: datetime) -> None:
    parsed = parse_games(records, sync_id=sync_id, fetched_at=at)
    rejects = rejects_table(parsed.rejects, sync_id=sync_id, fetched_at=at)
    RawZone(wh).commit(parsed.games, rejects, SyncState(), sync_id=sync_id)


def changed_records(records: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """New versions of ``count`` games: rating moved, a tag dropped, one brand-new tag."""
    out = []
    for i, record in enumerate(records[:count]):
        new = copy.deepcopy(record)
        new["updated"] = "2030-01-01T00:00:00"
        new["rating"] = 4.99
        new["tags"] = (new.get("tags") or [])[1:]
        if i == 0:
            new["tags"].append({"id": 999_001, "name": "Brand New", "slug": "brand-new"})
        out.append(new)
    brand_new = copy.deepcopy(records[-1])
    brand_new["id"] = 5_000_000
    brand_new["slug"] = "a-new-game"
    out.append(brand_new)
    return out


@pytest.fixture
def wh(tmp_path: Path, sample_records: list[dict[str, Any]]) -> Warehouse:
    """A warehouse whose raw zone holds the real sample, nothing published yet."""
    warehouse = Warehouse.open(make_settings(tmp_path / "wh", "http://127.0.0.1:9"), create=True)
    commit_raw(warehouse, sample_records, "s1", FIRST)
    return warehouse


def star_tables(wh: Warehouse) -> dict[str, pl.DataFrame]:
    return StarZone(wh).read(STAR_TABLES)


def raw_frame(wh: Warehouse) -> pl.DataFrame:
    frame = pl.from_arrow(RawZone(wh).games.scan().to_arrow())
    assert isinstance(frame, pl.DataFrame)
    return frame


# The model breaks ties between member versions updated at the same instant
# nondeterministically (reported), so dimensions are compared on keys and timestamps.
_DIM_COLUMNS = {d.table: [d.key, d.natural, "source_updated"] for d in DIMENSIONS}


def assert_same_star(left: Mapping[str, pl.DataFrame], right: Mapping[str, pl.DataFrame]) -> None:
    for name in STAR_TABLES:
        order = _DIM_COLUMNS.get(name, list(left[name].columns))
        assert_frame_equal(
            left[name].select(order).sort(order, nulls_last=True),
            right[name].select(order).sort(order, nulls_last=True),
            check_dtypes=False,
        )


def test_full_publish_writes_the_model_star(wh: Warehouse) -> None:
    result = publish_star(wh, sync_id="s1")

    assert result.mode == "full"
    assert result.games_total == result.games_built == 10_000
    expected = build_star(raw_frame(wh)).tables
    assert_same_star(star_tables(wh), expected)


def test_layout_partitions_sorts_and_sizes(wh: Warehouse) -> None:
    publish_star(wh, sync_id="s1")
    star = StarZone(wh)

    fact = star.tables["fact_games"]
    assert fact.spec().is_unpartitioned()
    sort = [fact.schema().find_column_name(f.source_id) for f in fact.sort_order().fields]
    assert sort == ["game_id"]
    assert "write.target-file-size-bytes" in fact.properties
    # Unpartitioned and far under the target size: one file per table, not one per year.
    fact_files = star.files("fact_games")
    assert len(fact_files) == 1
    assert read_files(fact, fact_files).collect().get_column("game_id").is_sorted()
    bridge = star.tables["bridge_game_tag"]
    assert [bridge.schema().find_column_name(f.source_id) for f in bridge.sort_order().fields] == [
        "game_id"
    ]
    files = star.files("bridge_game_tag")
    frame = read_files(bridge, files[:1]).collect()
    assert frame.get_column("game_id").is_sorted()


def test_incremental_publish_equals_a_full_rebuild(
    wh: Warehouse, sample_records: list[dict[str, Any]]
) -> None:
    publish_star(wh, sync_id="s1")
    changes = changed_records(sample_records, 40)
    commit_raw(wh, changes, "s2", LATER)
    changed = changed_since_publish(wh)
    assert changed is not None
    assert set(changed.to_list()) == {r["id"] for r in changes}

    result = publish_star(wh, sync_id="s2", changed_ids=changed)
    incremental = star_tables(wh)
    assert result.mode == "incremental"
    assert result.games_built == 41
    assert result.games_total == 10_001

    # Same warehouse: the previous dimensions are read, so every key must match exactly.
    rebuilt = publish_star(wh, sync_id="s3")
    assert rebuilt.mode == "full"
    assert_same_star(incremental, star_tables(wh))
    # And both equal the model run over every raw version at once, up to new members' keys.
    model = build_star(raw_frame(wh)).tables
    assert incremental["fact_games"].height == model["fact_games"].height
    tag_names = incremental["dim_tag"].filter(pl.col("tag_id") == 999_001).get_column("name")
    assert tag_names.to_list() == ["Brand New"]
    game = incremental["fact_games"].filter(pl.col("game_id") == sample_records[0]["id"])
    assert game.get_column("rating").to_list() == [4.99]


# Nessie keeps a table's history as Nessie commits, not as Iceberg snapshots: its table
# metadata holds only the current snapshot (tests/test_nessie.py covers publishes there).
@pytest.mark.embedded_only
def test_every_table_gets_one_snapshot_per_publish(
    wh: Warehouse, sample_records: list[dict[str, Any]]
) -> None:
    publish_star(wh, sync_id="s1")
    changes = changed_records(sample_records, 3)
    commit_raw(wh, changes, "s2", LATER)
    publish_star(wh, sync_id="s2", changed_ids=[r["id"] for r in changes])

    star = StarZone(wh)
    for name, table in star.tables.items():
        ids = [s.summary.get(SYNC_ID_PROPERTY) if s.summary else None for s in table.snapshots()]
        assert ids == ["s1", "s2"], name
    marker = star.marker()
    assert marker is not None and marker.sync_id == "s2"
    assert marker.snapshots == star.current_ids()
    assert star.consistent()


def test_failed_validation_publishes_nothing(
    wh: Warehouse, sample_records: list[dict[str, Any]]
) -> None:
    publish_star(wh, sync_id="s1")
    star = StarZone(wh)
    before = star.current_ids()
    commit_raw(wh, changed_records(sample_records, 5), "s2", LATER)

    def orphan_tag(tables: Mapping[str, pa.Table], expected: int) -> None:
        # The real DuckDB checks, over a bridge row pointing at a tag that does not exist.
        bridge = tables["bridge_game_tag"]
        orphan = pa.table({"game_id": [sample_records[0]["id"]], "tag_key": [987_654]})
        tampered = pa.concat_tables([bridge, orphan.cast(bridge.schema)])
        validate_star({**tables, "bridge_game_tag": tampered}, expected)

    with pytest.raises(ValidationFailed) as failed:
        publish_star(wh, sync_id="s2", changed_ids=[5_000_000], validator=orphan_tag)

    assert "fk:bridge_game_tag.tag_key->dim_tag" in str(failed.value)
    assert "987654" in str(failed.value)
    star = StarZone(wh)
    assert star.current_ids() == before
    marker = star.marker()
    assert marker is not None and marker.sync_id == "s1"
    assert all(len(t.snapshots()) == 1 for t in star.tables.values())


def test_row_count_check_uses_the_raw_zone(wh: Warehouse) -> None:
    def one_game_short(tables: Mapping[str, pa.Table], expected: int) -> None:
        validate_star(tables, expected + 1)

    with pytest.raises(ValidationFailed, match="row_count:fact_games"):
        publish_star(wh, sync_id="s1", validator=one_game_short)
    assert StarZone(wh).current_ids() == {}


def test_deleted_games_lose_their_rows(wh: Warehouse, sample_records: list[dict[str, Any]]) -> None:
    publish_star(wh, sync_id="s1")
    gone = sample_records[7]["id"]

    result = publish_star(wh, sync_id="s2", changed_ids=[], deleted_ids=[gone])

    assert result.games_deleted == 1
    assert result.games_total == 9_999
    tables = star_tables(wh)
    for name in GAME_TABLES:
        assert tables[name].filter(pl.col("game_id") == gone).is_empty(), name
    assert all(r.passed for r in check_published(wh))


def test_incremental_after_a_half_finished_publish_rebuilds_in_full(wh: Warehouse) -> None:
    publish_star(wh, sync_id="s1")
    star = StarZone(wh)
    # A crash after the first table's commit: dim_platform moved on, the marker did not.
    publish._commit(star.tables["dim_platform"], [], [], "crashed", "full")
    assert not StarZone(wh).consistent()

    result = publish_star(wh, sync_id="s2", changed_ids=[])

    assert result.mode == "full"
    assert StarZone(wh).consistent()


def test_small_files_are_compacted(
    wh: Warehouse, sample_records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publish, "COMPACT_FILES", 3)
    publish_star(wh, sync_id="s1")
    rewritten: set[str] = set()
    for i in range(4):
        game = copy.deepcopy(sample_records[i])
        game["id"] = 6_000_000 + i  # a new game: no existing file is touched
        commit_raw(wh, [game], f"n{i}", LATER)
        result = publish_star(wh, sync_id=f"n{i}", changed_ids=[game["id"]])
        rewritten.update(result.rewritten)

    assert "fact_games" in rewritten
    assert len(StarZone(wh).files("bridge_game_tag")) <= 3
    assert all(r.passed for r in check_published(wh))


def test_check_published_passes_on_a_published_star(wh: Warehouse) -> None:
    publish_star(wh, sync_id="s1")
    results = check_published(wh)
    assert results and all(r.passed for r in results)
    assert any(r.name == "row_count:fact_games" for r in results)


def test_incremental_validates_the_new_rows_and_the_totals(
    wh: Warehouse, sample_records: list[dict[str, Any]]
) -> None:
    publish_star(wh, sync_id="s1")
    changes = changed_records(sample_records, 10)
    commit_raw(wh, changes, "s2", LATER)
    seen: list[tuple[dict[str, int], int | None]] = []

    def spy(tables: Mapping[str, pa.Table], expected: int | None) -> None:
        seen.append(({n: t.num_rows for n, t in tables.items()}, expected))
        validate_star(tables, expected)

    result = publish_star(wh, sync_id="s2", changed_ids=[r["id"] for r in changes], validator=spy)

    # The checks ran on the 11 rebuilt games with the complete dimensions, not the star.
    [(rows, expected)] = seen
    assert expected is None
    assert rows["fact_games"] == result.games_built == 11
    assert rows["dim_tag"] == star_tables(wh)["dim_tag"].height
    assert all(r.passed for r in check_published(wh))


def test_incremental_totals_catch_a_lost_game(
    wh: Warehouse, sample_records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_star(wh, sync_id="s1")
    before = StarZone(wh).current_ids()
    changes = changed_records(sample_records, 3)
    commit_raw(wh, changes, "s2", LATER)
    lost = changes[0]["id"]
    changed_versions = publish._changed_versions

    def drop_one(*args: Any) -> pl.LazyFrame:
        # A bug that loses a changed game's versions: its old rows go, no new ones come.
        return changed_versions(*args).filter(pl.col("id") != lost)

    monkeypatch.setattr(publish, "_changed_versions", drop_one)
    with pytest.raises(ValidationFailed, match="row_count:fact_games"):
        publish_star(wh, sync_id="s2", changed_ids=[r["id"] for r in changes])
    assert StarZone(wh).current_ids() == before


def test_new_games_leave_existing_files_alone(
    wh: Warehouse, sample_records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publish, "DELTA_MIN_ROWS", 0)  # the sample's files count as large
    publish_star(wh, sync_id="s1")
    star = StarZone(wh)
    before = {name: {f.file_path for f in star.files(name)} for name in GAME_TABLES}
    game = copy.deepcopy(sample_records[0])
    game["id"] = 7_000_000  # above every id: no file's game_id bounds can hold it
    commit_raw(wh, [game], "s2", LATER)

    result = publish_star(wh, sync_id="s2", changed_ids=[game["id"]])

    assert result.mode == "incremental" and result.games_total == 10_001
    star = StarZone(wh)
    for name in GAME_TABLES:
        after = {f.file_path for f in star.files(name)}
        assert before[name] <= after, name  # nothing dropped, one small file added
        assert len(after - before[name]) <= 1, name
    assert all(r.passed for r in check_published(wh))


@pytest.mark.parametrize("delta_min_rows", [0, publish.DELTA_MIN_ROWS], ids=["base", "delta"])
def test_repeated_incremental_publishes_equal_a_full_rebuild(
    wh: Warehouse,
    sample_records: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    delta_min_rows: int,
) -> None:
    # base: the sample's files are large, rewritten without the changed games, and the
    # new rows go to a delta file; delta: every file is small and merged each time.
    monkeypatch.setattr(publish, "DELTA_MIN_ROWS", delta_min_rows)
    publish_star(wh, sync_id="s1")
    for i, start in enumerate((0, 20, 10)):  # overlapping sets of changed games
        changes = changed_records(sample_records[start:], 30)
        for record in changes:
            record["updated"] = f"203{i}-01-01T00:00:00"
        commit_raw(wh, changes, f"i{i}", LATER)
        result = publish_star(wh, sync_id=f"i{i}", changed_ids=changed_since_publish(wh))
        assert result.mode == "incremental"
    incremental = star_tables(wh)
    assert all(r.passed for r in check_published(wh))
    if delta_min_rows == 0:
        assert len(StarZone(wh).files("bridge_game_tag")) == 2  # the base and the delta
    for name in ("fact_games", "bridge_game_tag"):  # rewritten files keep the sort order
        zone = StarZone(wh)
        for data_file in zone.files(name):
            frame = read_files(zone.tables[name], [data_file]).collect()
            assert frame.get_column("game_id").is_sorted(), name

    publish_star(wh, sync_id="full")
    assert_same_star(incremental, star_tables(wh))


def test_a_legacy_year_partitioned_fact_is_not_rewritten_by_a_small_publish(
    tmp_path: Path, sample_records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warehouse made when the fact was partitioned by release year keeps that layout: a
    handful of changed games must not trigger compaction of its many files, one per year,
    and each file stays in game id order."""
    monkeypatch.setattr(star_zone, "_PARTITIONS", {"fact_games": ("release_year",)})
    monkeypatch.setattr(
        star_zone, "_SORTS", {**star_zone._SORTS, "fact_games": ("release_year", "game_id")}
    )
    records = []
    for i, record in enumerate(sample_records[:3_000]):
        spread = copy.deepcopy(record)
        year = 1980 + i % 45
        spread["released"] = f"{year}-06-15" if spread.get("released") else None
        records.append(spread)
    warehouse = Warehouse.open(make_settings(tmp_path / "wh", "http://127.0.0.1:9"), create=True)
    commit_raw(warehouse, records, "s1", FIRST)
    publish_star(warehouse, sync_id="s1")
    assert len(StarZone(warehouse).files("fact_games")) > publish.COMPACT_FILES
    changed = changed_records(records, 5)
    commit_raw(warehouse, changed, "s2", LATER)
    result = publish_star(warehouse, sync_id="s2", changed_ids=[r["id"] for r in changed])
    assert result.mode == "incremental"
    assert "fact_games" not in result.rewritten
    assert all(r.passed for r in check_published(warehouse))
    zone = StarZone(warehouse)
    fact = zone.tables["fact_games"]
    assert [f.name for f in fact.spec().fields] == ["release_year"]
    for data_file in zone.files("fact_games"):
        frame = read_files(fact, [data_file]).collect()
        assert frame.get_column("release_year").n_unique() == 1
        assert frame.get_column("game_id").is_sorted()
    publish_star(warehouse, sync_id="s3")
    assert_same_star(star_tables(warehouse), build_star(raw_frame(warehouse)).tables)
