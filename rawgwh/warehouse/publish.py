"""Publish the star: raw zone -> model -> DuckDB checks -> one snapshot per star table.

A full publish rebuilds every table from all of ``raw.games``; an incremental one rebuilds
the rows of the changed games only and replaces them copy-on-write: the data files holding
any of those games are rewritten without them, together with the new rows. Dimensions are
small and always replaced whole. Either way the previous dimensions are read first, so
surrogate keys never change.

Nothing is committed until the whole resulting star has passed the checks; then tables are
committed dimensions first and ``fact_games`` last, and the ``rawgwh.published`` marker
records the set. Iceberg over SQLite has no multi-table transaction: a crash between
commits leaves the marker on the previous publish, and the next publish notices and
rebuilds in full.

Games removed upstream show up only as "not seen" by a full backfill. ``deleted_ids``
removes such games' fact and bridge rows; the policy that finds them, and keeps them out
of later full rebuilds (the raw zone keeps their versions), belongs to the caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from timeit import default_timer
from typing import TYPE_CHECKING, Literal

import polars as pl
import pyarrow as pa

from rawgwh.errors import WarehouseError
from rawgwh.model import DIMENSIONS, GAME_TABLES, STAR_TABLES, build_star, star_to_arrow
from rawgwh.raw.schema import RAW_GAMES_SCHEMA
from rawgwh.raw.state import SYNC_ID_PROPERTY
from rawgwh.warehouse.catalog import Warehouse
from rawgwh.warehouse.raw_zone import RAW_GAMES
from rawgwh.warehouse.star_zone import (
    ANCHOR_TABLE,
    STAR_NAMESPACE,
    TARGET_FILE_SIZE,
    PublishedMarker,
    StarZone,
    data_files,
    local_path,
    read_files,
)

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

    from rawgwh.warehouse.validate import CheckResult

__all__ = [
    "PublishResult",
    "Validator",
    "changed_since_publish",
    "check_published",
    "publish_star",
    "validate_star",
]

#: Checks the complete star before it is published: ``(tables, expected_games)``; raises
#: :class:`~rawgwh.errors.ValidationFailed` naming the failed check.
Validator = Callable[[Mapping[str, pa.Table], int], None]

# Compaction: a table with more files than this, averaging under COMPACT_BELOW bytes on
# disk, is rewritten whole. Copy-on-write replaces the files it touches, so small files
# pile up only from games that are new in small incremental publishes.
COMPACT_FILES = 32
COMPACT_BELOW = TARGET_FILE_SIZE // 32
_DIM_TABLES = frozenset(d.table for d in DIMENSIONS) | {"dim_date"}
# Commit order: fact_games (the anchor readers resolve time travel with) comes last.
_COMMIT_ORDER = tuple(n for n in STAR_TABLES if n != ANCHOR_TABLE) + (ANCHOR_TABLE,)
_SORT = {"fact_games": ["release_year", "game_id"]}


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What one publish did."""

    sync_id: str
    mode: Literal["full", "incremental"]
    games_built: int  # games whose fact and bridge rows were rebuilt
    games_deleted: int  # ``deleted_ids`` found in the raw zone, now left out of the star
    games_total: int  # fact_games rows after the publish
    snapshots: dict[str, int]  # star table -> its new snapshot id
    rewritten: tuple[str, ...]  # tables rewritten whole (full publish or compaction)
    files_written: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Plan:
    """One table's change: files to drop, rows to write, and the table's complete rows."""

    delete: list[DataFile]
    write: pl.DataFrame
    complete: pl.DataFrame
    whole: bool


def publish_star(
    warehouse: Warehouse,
    *,
    sync_id: str,
    changed_ids: Iterable[int] | pl.Series | None = None,
    deleted_ids: Iterable[int] | pl.Series | None = None,
    validator: Validator | None = None,
) -> PublishResult:
    """Model ``raw.games`` into the star and publish it; ``changed_ids=None`` rebuilds all.

    Incremental publishes fall back to a full one when nothing was published yet or the
    last publish did not finish. The caller holds the writer lock.
    """
    started = default_timer()
    timings: dict[str, float] = {}
    clock = _Clock(timings)
    if not warehouse.has_table(RAW_GAMES):
        raise WarehouseError("the raw zone is empty: run `rawgwh sync` first")
    raw_table = warehouse.table(RAW_GAMES, RAW_GAMES_SCHEMA)
    star = StarZone(warehouse)
    full = changed_ids is None or star.marker() is None or not star.consistent()
    deleted = _ids(deleted_ids)
    changed = None if full else _ids(changed_ids)

    raw_snapshot = raw_table.current_snapshot()
    raw_files = data_files(raw_table)
    raw_ids = read_files(raw_table, raw_files, columns=["id"]).unique().collect()
    gone = raw_ids.get_column("id").is_in(deleted.implode())
    expected, games_deleted = raw_ids.height - int(gone.sum()), int(gone.sum())
    previous = star.read(_DIM_TABLES | ({ANCHOR_TABLE} if changed is not None else set()))
    if changed is None:
        raw = read_files(raw_table, raw_files)
    else:
        raw = _changed_versions(raw_table, raw_files, star, changed, previous[ANCHOR_TABLE])
    raw = raw.filter(~pl.col("id").is_in(deleted.implode()))
    clock("read")
    build = build_star(raw, previous=previous)
    clock("build")

    touched = pl.concat([build.game_ids, deleted, *([changed] if changed is not None else [])])
    plans = {
        name: (
            _replace_games(star, name, frame, touched)
            if changed is not None and name in GAME_TABLES
            else _Plan(delete=star.files(name), write=frame, complete=frame, whole=True)
        )
        for name, frame in build.tables.items()
    }
    clock("merge")
    tables = star_to_arrow({name: plan.complete for name, plan in plans.items()})
    (validator or validate_star)(tables, expected)
    clock("validate")

    files = _write_all(star, plans, write_uuid=uuid.uuid4())
    clock("write")
    snapshots: dict[str, int] = {}
    for name in _COMMIT_ORDER:
        snapshots[name] = _commit(star.tables[name], plans[name].delete, files[name], sync_id)
    mode: Literal["full", "incremental"] = "full" if full else "incremental"
    raw_id = raw_snapshot.snapshot_id if raw_snapshot else None
    star.set_marker(PublishedMarker(sync_id, mode, snapshots, raw_id, expected))
    clock("commit")
    return PublishResult(
        sync_id=sync_id,
        mode=mode,
        games_built=build.game_ids.len(),
        games_deleted=games_deleted,
        games_total=plans[ANCHOR_TABLE].complete.height,
        snapshots=snapshots,
        rewritten=tuple(n for n in _COMMIT_ORDER if plans[n].whole and n not in _DIM_TABLES),
        files_written=sum(len(f) for f in files.values()),
        seconds=default_timer() - started,
        timings=timings,
    )


def validate_star(tables: Mapping[str, pa.Table], expected_games: int) -> None:
    """The DuckDB checks of :mod:`rawgwh.warehouse.validate`; raises ValidationFailed."""
    from rawgwh.warehouse.validate import raise_if_failed, run_checks

    raise_if_failed(run_checks(tables, expected_games=expected_games))


class _Clock:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.last = default_timer()

    def __call__(self, stage: str) -> None:
        now = default_timer()
        self.timings[stage] = round(now - self.last, 3)
        self.last = now


def _ids(values: Iterable[int] | pl.Series | None) -> pl.Series:
    if values is None:
        return pl.Series("game_id", [], dtype=pl.Int64)
    series = values if isinstance(values, pl.Series) else pl.Series("game_id", list(values))
    return series.cast(pl.Int64).rename("game_id").unique()


def _changed_versions(
    raw_table: Table,
    raw_files: list[DataFile],
    star: StarZone,
    changed: pl.Series,
    fact: pl.DataFrame,
) -> pl.LazyFrame:
    """The raw versions of ``changed`` games an incremental build needs, read cheaply.

    Decoding every raw row's nested columns to find a few games costs seconds, so: the
    versions committed since the last publish (its marker names the raw snapshot), plus the
    older versions only of games whose newest one is not among those (a late arrival, or no
    new version at all), where the previous latest may still win.
    """
    marker = star.marker()
    seen = (
        {f.file_path for f in data_files(raw_table, marker.raw_snapshot)}
        if marker is not None and marker.raw_snapshot is not None
        else set()
    )
    new_files = [f for f in raw_files if f.file_path not in seen]
    old_files = [f for f in raw_files if f.file_path in seen]
    wanted = pl.col("id").is_in(changed.implode())
    new = read_files(raw_table, new_files).filter(wanted).collect()
    newest = new.group_by("id").agg(pl.col("updated").max().alias("_new"))
    stale = (
        changed.to_frame("id")
        .join(newest, on="id", how="left")
        .join(fact.select(pl.col("game_id").alias("id"), "updated"), on="id", how="left")
        .filter(pl.col("_new").is_null() | (pl.col("_new") <= pl.col("updated")))
        .get_column("id")
    )
    if stale.is_empty() or not old_files:
        return new.lazy()
    old = read_files(raw_table, old_files).filter(pl.col("id").is_in(stale.implode()))
    return pl.concat([new.lazy(), old], how="vertical")


def _replace_games(star: StarZone, name: str, new_rows: pl.DataFrame, touched: pl.Series) -> _Plan:
    """Drop ``touched`` games from the table and add ``new_rows``, rewriting few files."""
    files = star.files(name)
    previous = read_files(star.tables[name], files, with_file=True).collect()
    hit = pl.col("game_id").is_in(touched.implode())
    kept = previous.filter(~hit)
    complete = pl.concat([kept.drop("_file"), new_rows], how="vertical_relaxed")
    affected = set(previous.filter(hit).get_column("_file").unique().to_list())
    remaining = [f for f in files if local_path(f.file_path) not in affected]
    whole = _needs_compaction(remaining, new_rows.height)
    if whole:
        return _Plan(delete=files, write=_sorted(name, complete), complete=complete, whole=True)
    rewritten = kept.filter(pl.col("_file").is_in(list(affected))).drop("_file")
    write = _sorted(name, pl.concat([rewritten, new_rows], how="vertical_relaxed"))
    return _Plan(
        delete=[f for f in files if local_path(f.file_path) in affected],
        write=write,
        complete=complete,
        whole=False,
    )


def _needs_compaction(remaining: list[DataFile], new_rows: int) -> bool:
    count = len(remaining) + (1 if new_rows else 0)
    size = sum(f.file_size_in_bytes for f in remaining)
    return count > COMPACT_FILES and size / max(count, 1) < COMPACT_BELOW


def _sorted(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(_SORT.get(name, [frame.columns[0]]), nulls_last=True)


def _write_all(
    star: StarZone, plans: Mapping[str, _Plan], *, write_uuid: uuid.UUID
) -> dict[str, list[DataFile]]:
    """Write every table's new data files, tables in parallel (Parquet writing frees the GIL)."""
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    def write(name: str) -> list[DataFile]:
        rows = star_to_arrow({name: plans[name].write})[name]
        if not rows.num_rows:
            return []
        table = star.tables[name]
        return list(_dataframe_to_data_files(table.metadata, rows, table.io, write_uuid=write_uuid))

    # Largest first, so the long writes start at once.
    order = sorted(plans, key=lambda n: plans[n].write.height, reverse=True)
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="rawgwh-publish") as pool:
        return dict(zip(order, pool.map(write, order), strict=True))


def _commit(table: Table, delete: list[DataFile], add: list[DataFile], sync_id: str) -> int:
    """Exactly one snapshot: the dropped files out, the new ones in, tagged with ``sync_id``."""
    with table.transaction() as tx:
        update = tx.update_snapshot(snapshot_properties={SYNC_ID_PROPERTY: sync_id})
        with update.overwrite() as overwrite:
            for data_file in delete:
                overwrite.delete_data_file(data_file)
            for data_file in add:
                overwrite.append_data_file(data_file)
    snapshot = table.current_snapshot()
    assert snapshot is not None
    return snapshot.snapshot_id


def changed_since_publish(warehouse: Warehouse) -> pl.Series | None:
    """Ids of games with raw versions committed since the last publish (None: never published).

    ``raw.games`` only grows, so the new versions are the data files the last publish's raw
    snapshot did not have.
    """
    marker = StarZone(warehouse).marker()
    if marker is None or marker.raw_snapshot is None or not warehouse.has_table(RAW_GAMES):
        return None
    raw_table = warehouse.table(RAW_GAMES)
    seen = {f.file_path for f in data_files(raw_table, marker.raw_snapshot)}
    new = [f for f in data_files(raw_table) if f.file_path not in seen]
    frame = read_files(raw_table, new, columns=["id"]).unique().collect()
    return frame.get_column("id").rename("game_id")


def check_published(warehouse: Warehouse) -> list[CheckResult]:
    """Run the DuckDB checks on the star as last published (read-only)."""
    from rawgwh.warehouse.validate import run_checks

    if not warehouse.has_table(f"{STAR_NAMESPACE}.{ANCHOR_TABLE}"):
        raise WarehouseError("nothing published yet: run `rawgwh build` (or `rawgwh sync`)")
    star = StarZone(warehouse, create=False)
    marker = star.marker()
    if marker is None:
        raise WarehouseError("no complete publish yet: run `rawgwh build`")
    tables = star_to_arrow(star.read(STAR_TABLES, marker.snapshots))
    expected = marker.games
    if expected is None and marker.raw_snapshot is not None:
        raw_table = warehouse.table(RAW_GAMES)
        raw = read_files(raw_table, data_files(raw_table, marker.raw_snapshot), columns=["id"])
        expected = int(raw.select(pl.col("id").n_unique()).collect().item())
    return run_checks(tables, expected_games=expected)
