"""Publish the star: raw zone -> model -> DuckDB checks -> one snapshot per star table.

A full publish rebuilds every table from all of ``raw.games``; an incremental one rebuilds
the rows of the changed games only and replaces them copy-on-write: the data files that may
hold any of those games (by their ``game_id`` bounds) are read, and those that do are
rewritten without them, together with the new rows. Dimensions are small and always
replaced whole. Either way the previous dimensions are read first, so surrogate keys never
change.

Nothing is committed until the result has passed the checks: a full publish checks the
whole star; an incremental one the new rows with the complete dimensions, plus the totals
on id sets (see :mod:`rawgwh.warehouse.validate`). Then tables are committed dimensions
first and ``fact_games`` last, and the ``rawgwh.published`` marker records the set. Iceberg
over SQLite has no multi-table transaction: a crash between commits leaves the marker on
the previous publish, and the next publish notices and rebuilds in full.

Games removed upstream show up only as "not seen" by a full backfill. ``deleted_ids``
removes such games' fact and bridge rows; the policy that finds them, and keeps them out
of later full rebuilds (the raw zone keeps their versions), belongs to the caller.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import struct
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from timeit import default_timer
from typing import TYPE_CHECKING, Literal

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from rawgwh.errors import ValidationFailed, WarehouseError
from rawgwh.model import (
    DIMENSIONS,
    GAME_TABLES,
    STAR_SCHEMAS,
    STAR_TABLES,
    build_star,
    star_to_arrow,
)
from rawgwh.raw.schema import RAW_GAMES_SCHEMA
from rawgwh.raw.state import SYNC_ID_PROPERTY
from rawgwh.warehouse.catalog import Warehouse, commit_or_busy, writing
from rawgwh.warehouse.raw_zone import RAW_GAMES
from rawgwh.warehouse.star_zone import (
    ANCHOR_TABLE,
    PUBLISH_MODE_PROPERTY,
    STAR_NAMESPACE,
    TARGET_FILE_SIZE,
    PublishedMarker,
    StarZone,
    data_files,
    files_by_sequence,
    read_arrow,
    read_files,
)

if TYPE_CHECKING:
    from pyiceberg.io import FileIO, InputFile, OutputFile
    from pyiceberg.manifest import DataFile
    from pyiceberg.partitioning import PartitionKey, PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table

    from rawgwh.warehouse.validate import CheckResult

__all__ = [
    "PublishResult",
    "publish",
    "sync_branch",
    "Validator",
    "changed_since_publish",
    "check_published",
    "publish_star",
    "published_raw_files",
    "validate_star",
]

#: Checks a star before it is published: ``(tables, expected_games)``; raises
#: :class:`~rawgwh.errors.ValidationFailed` naming the failed check. A full publish passes
#: the complete star and its expected fact row count; an incremental one passes the new
#: fact and bridge rows with the complete dimensions and ``None`` (it checks the totals
#: itself, on id sets).
Validator = Callable[[Mapping[str, pa.Table], int | None], None]

# Compaction: a table with more files than this beyond its partitions' base-and-delta pairs,
# averaging under COMPACT_BELOW bytes on disk, is rewritten whole. The delta layout keeps
# about two files per partition, so this is a backstop: counting files per table would fire
# on every publish of a catalogue spread over decades (one partition per release year).
COMPACT_FILES = 32
COMPACT_BELOW = TARGET_FILE_SIZE // 32
# Incremental layout (see _replace_games): a file is a small "delta" below this share of its
# partition's rows (or DELTA_MIN_ROWS); small files are merged, sorted, on every publish.
DELTA_SHARE = 8
DELTA_MIN_ROWS = 65_536
_DIM_TABLES = frozenset(d.table for d in DIMENSIONS) | {"dim_date"}
# Commit order: fact_games (the anchor readers resolve time travel with) comes last.
_COMMIT_ORDER = tuple(n for n in STAR_TABLES if n != ANCHOR_TABLE) + (ANCHOR_TABLE,)
# Tables are read, merged and written in parallel: Arrow and Parquet work frees the GIL.
_WORKERS = max(2, min(4, os.cpu_count() or 2))


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


@dataclass(frozen=True, slots=True)
class _Written:
    """One table's change, written: the data files it drops and the ones it adds."""

    delete: list[DataFile]
    add: list[DataFile]
    whole: bool


def publish_star(
    warehouse: Warehouse,
    *,
    sync_id: str,
    changed_ids: Iterable[int] | pl.Series | None = None,
    deleted_ids: Iterable[int] | pl.Series | None = None,
    validator: Validator | None = None,
    keep_failed: bool = False,
) -> PublishResult:
    """Model ``raw.games`` into the star and publish it; ``changed_ids=None`` rebuilds all.

    Incremental publishes fall back to a full one when nothing was published yet or the
    last publish did not finish. The caller holds the writer lock. ``keep_failed`` commits
    a star that failed its checks before raising (for a Nessie branch nobody reads, where
    the failed candidate stays for inspection); without it nothing is written.
    """
    started = default_timer()
    timings: dict[str, float] = {}
    clock = _Clock(timings)
    if not warehouse.has_table(RAW_GAMES):
        raise WarehouseError("the raw zone is empty: run `rawgwh sync` first")
    raw_table = warehouse.table(RAW_GAMES, RAW_GAMES_SCHEMA)
    star = StarZone(warehouse, defer=True)
    marker = star.marker()
    full = changed_ids is None or marker is None or not star.consistent()
    deleted = _ids(deleted_ids)
    check = validator or validate_star
    new_files = _NewFiles(warehouse.location)

    raw_snapshot = raw_table.current_snapshot()
    raw_files = data_files(raw_table)
    raw_ids = read_files(raw_table, raw_files, columns=["id"]).unique().collect()
    gone = raw_ids.get_column("id").is_in(deleted.implode())
    expected, games_deleted = raw_ids.height - int(gone.sum()), int(gone.sum())
    previous = star.read(n for n in _DIM_TABLES if n in star.tables)
    if full or marker is None:
        raw = read_files(raw_table, raw_files).filter(~pl.col("id").is_in(deleted.implode()))
        clock("read")
        with ThreadPoolExecutor(1, thread_name_prefix="rawgwh-catalog") as catalog_thread:
            # A first publish creates its tables (catalog work in Python) while Polars,
            # which frees the GIL, builds: nothing else touches the catalog meanwhile.
            created = catalog_thread.submit(star.create_missing)
            build = build_star(raw, previous=previous)
            games_built = build.game_ids.len()
            tables = star_to_arrow(build.tables)
            del build, raw
            created.result()
        clock("build")
        failure = _checked(lambda: check(tables, expected), keep_failed)
        clock("validate")
        games_total = tables[ANCHOR_TABLE].num_rows
        current = {name: star.files(name) for name in tables}
        jobs = {
            name: _replace_whole(star, name, current[name], t, new_files)
            for name, t in tables.items()
        }
        written = _run_jobs(jobs, new_files, size={n: t.nbytes for n, t in tables.items()})
        clock("write")
    else:
        star.create_missing()  # only a table dropped by hand is missing here
        changed = _ids(changed_ids)
        current = {name: star.files(name) for name in STAR_TABLES}
        fact_parts = read_arrow(
            ANCHOR_TABLE,
            current[ANCHOR_TABLE],
            _FACT_KEYS,
            properties=star.tables[ANCHOR_TABLE].io.properties,
        )
        fact_keys = _concat(ANCHOR_TABLE, fact_parts, _FACT_KEYS)
        keys = pl.DataFrame(fact_keys)
        raw = _changed_versions(raw_table, raw_files, marker, changed, keys)
        raw = raw.filter(~pl.col("id").is_in(deleted.implode()))
        clock("read")
        build = build_star(raw, previous=previous)
        games_built = build.game_ids.len()
        clock("build")
        new = star_to_arrow(build.tables)
        touched = pl.concat([build.game_ids, deleted, changed]).unique().sort()
        del build, raw
        touched_ids = touched.to_arrow()
        old_ids = fact_keys.column("game_id")
        kept_ids = old_ids.filter(pc.invert(pc.is_in(old_ids, value_set=touched_ids)))
        failure = _checked(
            lambda: _check_delta(check, previous, new, kept_ids, expected), keep_failed
        )
        clock("validate")
        games_total = len(kept_ids) + new[ANCHOR_TABLE].num_rows
        touched_list = touched.to_list()
        jobs = {
            name: (
                _replace_games(
                    star, name, current[name], rows, touched_ids, touched_list, new_files
                )
                if name in GAME_TABLES
                else _replace_whole(star, name, current[name], rows, new_files)
            )
            for name, rows in new.items()
        }
        size = {n: sum(f.file_size_in_bytes for f in current[n]) for n in GAME_TABLES}
        written = _run_jobs(jobs, new_files, size=size)
        clock("write")

    mode: Literal["full", "incremental"] = "full" if full else "incremental"
    snapshots: dict[str, int] = {}
    with writing(warehouse.location):
        for name in _COMMIT_ORDER:
            snapshots[name] = _commit(
                star.tables[name], written[name].delete, written[name].add, sync_id, mode
            )
    raw_id = raw_snapshot.snapshot_id if raw_snapshot else None
    # Format v1 tables have no sequence numbers (all zero).
    versioned = raw_snapshot is not None and raw_table.format_version >= 2
    raw_sequence = raw_snapshot.sequence_number if raw_snapshot and versioned else None
    star.set_marker(PublishedMarker(sync_id, mode, snapshots, raw_id, expected, raw_sequence))
    clock("commit")
    if failure is not None:
        raise failure
    return PublishResult(
        sync_id=sync_id,
        mode=mode,
        games_built=games_built,
        games_deleted=games_deleted,
        games_total=games_total,
        snapshots=snapshots,
        rewritten=tuple(n for n in _COMMIT_ORDER if written[n].whole and n not in _DIM_TABLES),
        files_written=sum(len(w.add) for w in written.values()),
        seconds=default_timer() - started,
        timings=timings,
    )


def _checked(run: Callable[[], None], keep_failed: bool) -> ValidationFailed | None:
    """Run the checks; their failure, when the caller keeps failed stars, else raise it."""
    try:
        run()
    except ValidationFailed as e:
        if not keep_failed:
            raise
        return e
    return None


def publish(
    warehouse: Warehouse,
    *,
    sync_id: str,
    changed_ids: Iterable[int] | pl.Series | None = None,
    deleted_ids: Iterable[int] | pl.Series | None = None,
    validator: Validator | None = None,
) -> PublishResult:
    """:func:`publish_star`, atomically wherever the catalog allows.

    On Nessie the star is written and checked on a fresh branch ``rawgwh/sync-<id>`` made
    from the target branch, then merged into it in one commit: readers of the target see
    every star table change at once. A failed check leaves the target untouched and the
    branch in place, holding the failed candidate, for inspection.
    """
    nessie, target = warehouse.nessie, warehouse.ref
    if nessie is None or target is None:
        return publish_star(
            warehouse,
            sync_id=sync_id,
            changed_ids=changed_ids,
            deleted_ids=deleted_ids,
            validator=validator,
        )
    branch = sync_branch(sync_id)
    nessie.delete_branch(branch)  # a retried publish starts again from the target's head
    nessie.create_branch(branch, target)
    staged = warehouse.on_ref(branch)
    try:
        result = publish_star(
            staged,
            sync_id=sync_id,
            changed_ids=changed_ids,
            deleted_ids=deleted_ids,
            validator=validator,
            keep_failed=True,
        )
    except ValidationFailed as e:
        raise ValidationFailed(
            f"{e}; branch {target} is unchanged, and the failed star is kept on branch "
            f"{branch} (`rawgwh query --ref {branch}`)"
        ) from None
    except BaseException:
        nessie.delete_branch(branch)
        raise
    nessie.merge(branch, target, f"rawgwh publish {sync_id} ({result.mode})")
    nessie.delete_branch(branch)
    return result


def sync_branch(sync_id: str) -> str:
    """The Nessie branch a sync's publish is staged on."""
    return f"rawgwh/sync-{sync_id}"


def validate_star(tables: Mapping[str, pa.Table], expected_games: int | None) -> None:
    """The DuckDB checks of :mod:`rawgwh.warehouse.validate`; raises ValidationFailed."""
    from rawgwh.warehouse.validate import raise_if_failed, run_checks

    raise_if_failed(run_checks(tables, expected_games=expected_games))


_FACT_KEYS = ("game_id", "updated")


def _check_delta(
    check: Validator,
    previous: Mapping[str, pl.DataFrame],
    new: Mapping[str, pa.Table],
    kept_ids: pa.ChunkedArray,
    expected: int,
) -> None:
    """An incremental publish's checks: totals on id sets, then ``check`` on the new rows."""
    from rawgwh.warehouse.validate import check_delta_totals, raise_if_failed

    raise_if_failed(
        check_delta_totals(
            previous_dims=star_to_arrow(previous),
            dims={n: t for n, t in new.items() if n in _DIM_TABLES},
            kept_ids=kept_ids,
            new_ids=new[ANCHOR_TABLE].column("game_id"),
            expected_games=expected,
        )
    )
    check(new, None)


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


def _concat(name: str, parts: Sequence[pa.Table], columns: Sequence[str] | None = None) -> pa.Table:
    if parts:
        return pa.concat_tables(parts)
    schema = STAR_SCHEMAS[name]
    names = list(columns) if columns is not None else schema.names
    return pa.schema([schema.field(n) for n in names]).empty_table()


def _changed_versions(
    raw_table: Table,
    raw_files: list[DataFile],
    marker: PublishedMarker,
    changed: pl.Series,
    fact: pl.DataFrame,
) -> pl.LazyFrame:
    """The raw versions of ``changed`` games an incremental build needs, read cheaply.

    Decoding every raw row's nested columns to find a few games costs seconds, so: the
    versions committed since the last publish (its marker names the raw snapshot), plus the
    older versions only of games whose newest one is not among those (a late arrival, or no
    new version at all), where the previous latest may still win. ``fact`` holds the
    previous fact's ``game_id`` and ``updated``.
    """
    seen = published_raw_files(raw_table, marker)
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


_Job = Callable[[], _Written]


def _replace_whole(
    star: StarZone, name: str, files: list[DataFile], rows: pa.Table, new: _NewFiles
) -> _Job:
    """Every current file of ``name`` out, ``rows`` in."""

    def job() -> _Written:
        return _Written(files, _write(star, name, rows, new=new), whole=True)

    return job


def _replace_games(
    star: StarZone,
    name: str,
    files: list[DataFile],
    new_rows: pa.Table,
    touched: pa.Array,
    touched_list: list[int],
    new: _NewFiles,
) -> _Job:
    """Drop ``touched`` games from ``name`` and add ``new_rows``, rewriting few bytes.

    A partition's files are large base files and at most one small delta file (under
    1/:data:`DELTA_SHARE` of the partition's rows). A base file whose ``game_id`` bounds
    may hold a touched game is read without those games and, if it held any, rewritten
    as it was, still sorted. The new rows go to the delta: merged with the kept rows of
    the small files in the table's sort order. A delta that grows past the limit becomes a
    base file; a base file that shrinks below it is merged into the delta again.
    """

    def job() -> _Written:
        field_id = star.tables[name].schema().find_field("game_id").field_id
        rows_in: dict[object, int] = {}
        for f in files:
            rows_in[f.partition] = rows_in.get(f.partition, 0) + f.record_count
        small = {
            id(f)
            for f in files
            if f.record_count < max(rows_in[f.partition] // DELTA_SHARE, DELTA_MIN_ROWS)
        }
        base = [f for f in files if id(f) not in small and _may_hold(f, field_id, touched_list)]
        # Only the deltas of partitions this publish changes: rewriting every partition's
        # delta would rewrite most of a table spread over many release years.
        receiving = _partitions_of(star.tables[name], new_rows)
        smalls = [
            f
            for f in files
            if id(f) in small
            and (
                receiving is None
                or repr(f.partition) in receiving
                or _may_hold(f, field_id, touched_list)
            )
        ]
        drop = pl.Series("game_id", touched)
        io = star.tables[name].io.properties
        kept = read_arrow(name, base, without_games=drop, properties=io)
        hit = [(f, k) for f, k in zip(base, kept, strict=True) if k.num_rows < f.record_count]
        parts = read_arrow(name, smalls, properties=io)
        keep = [_keep(part, touched) for part in parts]
        if not new_rows.num_rows and all(pc.all(k).as_py() for k in keep) and len(parts) < 2:
            smalls, parts, keep = [], [], []  # the delta stays as it is
        replaced = {id(f) for f, _ in hit} | {id(f) for f in smalls}
        remaining = [f for f in files if id(f) not in replaced]
        if _needs_compaction(remaining, new_rows.num_rows):
            parts = read_arrow(name, files, properties=io)
            rows = _merge(star, name, parts, [_keep(part, touched) for part in parts], new_rows)
            return _Written(files, _write(star, name, rows, new=new), whole=True)
        merged = _merge(star, name, parts, keep, new_rows)
        add = _write(star, name, *(k for _, k in hit), merged, new=new)
        delete = [f for f in files if id(f) in replaced]
        return _Written(delete, add, whole=bool(files) and len(delete) == len(files))

    return job


def _keep(part: pa.Table, touched: pa.Array) -> pa.ChunkedArray:
    """True on the rows of ``part`` whose game is not ``touched``."""
    return pc.invert(pc.is_in(part.column("game_id"), value_set=touched))


def _partitions_of(table: Table, rows: pa.Table) -> set[str] | None:
    """The partitions (as ``repr`` of their records) that ``rows`` fall in; ``None`` when
    the spec has a transform other than identity, meaning "assume any"."""
    from pyiceberg.transforms import IdentityTransform
    from pyiceberg.typedef import Record

    spec = table.spec()
    if not spec.fields:
        return {repr(Record())}
    if not all(isinstance(f.transform, IdentityTransform) for f in spec.fields):
        return None
    schema = table.schema()
    names = [schema.find_column_name(f.source_id) for f in spec.fields]
    if any(n is None or n not in rows.column_names for n in names):
        return None
    columns = [rows.column(n).to_pylist() for n in names if n is not None]
    return {repr(Record(*values)) for values in zip(*columns, strict=True)}


def _may_hold(data_file: DataFile, field_id: int, touched: list[int]) -> bool:
    """Whether ``data_file``'s ``game_id`` bounds (when recorded) include a touched id."""
    lower = (data_file.lower_bounds or {}).get(field_id)
    upper = (data_file.upper_bounds or {}).get(field_id)
    if lower is None or upper is None or len(lower) != 8 or len(upper) != 8:
        return True
    low, high = struct.unpack("<q", lower)[0], struct.unpack("<q", upper)[0]
    at = bisect.bisect_left(touched, low)
    return at < len(touched) and touched[at] <= high


def sort_keys(table: Table) -> list[str]:
    """The columns ``table``'s rows are kept in, from its Iceberg sort order."""
    schema = table.schema()
    names = [schema.find_column_name(f.source_id) for f in table.sort_order().fields]
    return [n for n in names if n is not None] or ["game_id"]


def _merge(
    star: StarZone,
    name: str,
    parts: Sequence[pa.Table],
    keep: Sequence[pa.ChunkedArray],
    new_rows: pa.Table,
) -> pa.Table:
    """The kept rows of ``parts`` and ``new_rows``, in the table's sort order, in one take.

    Only the sort keys go through Polars; the rows are gathered once by Arrow.
    """
    if not parts:
        return new_rows
    combined = pa.concat_tables([*parts, new_rows])
    mask = pa.chunked_array(
        [c for k in keep for c in k.chunks] + [pa.repeat(True, new_rows.num_rows)],
        type=pa.bool_(),
    )
    keys = sort_keys(star.tables[name])
    frame = pl.DataFrame(combined.select(keys))
    order = (
        frame.with_row_index("_row")
        .filter(pl.Series(mask))
        .sort(keys, nulls_last=True, maintain_order=True)
        .get_column("_row")
    )
    return combined.take(order.to_arrow())


def _needs_compaction(remaining: list[DataFile], new_rows: int) -> bool:
    count = len(remaining) + (1 if new_rows else 0)
    partitions = len({_partition_key(f) for f in remaining})
    size = sum(f.file_size_in_bytes for f in remaining)
    return count > COMPACT_FILES + 2 * partitions and size / max(count, 1) < COMPACT_BELOW


def _partition_key(data_file: DataFile) -> str:
    return repr(data_file.partition)


class _NewFiles:
    """The data files a publish writes, so that one failing before its commits can delete
    them: nothing would ever reference them, and nothing would clean them up."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.paths: list[tuple[FileIO, str]] = []

    def recording(self, io: FileIO) -> FileIO:
        """``io``, noting every file written through it (before a byte is written)."""
        from pyiceberg.io import FileIO

        paths = self.paths

        class Recording(FileIO):
            def new_input(self, location: str) -> InputFile:
                return io.new_input(location)

            def new_output(self, location: str) -> OutputFile:
                paths.append((io, location))
                return io.new_output(location)

            def delete(self, location: str | InputFile | OutputFile) -> None:
                io.delete(location)

        return Recording(io.properties)

    def delete(self) -> None:
        for io, path in self.paths:
            with contextlib.suppress(Exception):  # never written, or out of our hands
                io.delete(path)


def _run_jobs(
    jobs: Mapping[str, _Job], new: _NewFiles, *, size: Mapping[str, int]
) -> dict[str, _Written]:
    """Run every table's job, in parallel threads, the largest first; if one fails, delete
    every file they wrote (once all have stopped) and raise."""
    order = sorted(jobs, key=lambda n: size.get(n, 0), reverse=True)
    try:
        with writing(new.location):
            pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="rawgwh-publish")
            with pool:
                done = list(pool.map(lambda n: jobs[n](), order))
    except BaseException:
        new.delete()
        raise
    return dict(zip(order, done, strict=True))


def _write(star: StarZone, name: str, *tables: pa.Table, new: _NewFiles) -> list[DataFile]:
    """Each of ``tables`` as new data files of ``name``: split by partition, bin-packed and
    written in parallel by pyiceberg.

    pyiceberg's own partitioning filters a copy of the whole table per partition (seconds
    for the fact); rows here are sorted by their partition column, so each partition is a
    zero-copy slice.
    """
    from pyiceberg.io.pyarrow import (
        _dataframe_to_data_files,
        bin_pack_arrow_table,
        pyarrow_to_schema,
        write_file,
    )
    from pyiceberg.table import WriteTask
    from pyiceberg.transforms import IdentityTransform

    tables = tuple(t for t in tables if t.num_rows)
    if not tables:
        return []
    table = star.tables[name]
    io = new.recording(table.io)
    metadata = table.metadata
    write_uuid = uuid.uuid4()
    spec, schema = metadata.spec(), metadata.schema()
    identity = all(isinstance(f.transform, IdentityTransform) for f in spec.fields)
    if len(spec.fields) > 1 or not identity:  # pragma: no cover - no star table has one
        rows = pa.concat_tables(tables)
        return list(_dataframe_to_data_files(metadata, rows, io, write_uuid=write_uuid))
    target = int(metadata.properties.get("write.target-file-size-bytes", TARGET_FILE_SIZE))
    task_schema = pyarrow_to_schema(
        tables[0].schema, name_mapping=schema.name_mapping, format_version=metadata.format_version
    )
    tasks: list[WriteTask] = []
    for rows in tables:
        for key, piece in _partitions(spec, schema, rows):
            for batches in bin_pack_arrow_table(piece, target):
                task = WriteTask(write_uuid, len(tasks), task_schema, batches, partition_key=key)
                tasks.append(task)
    if len(tasks) == 1:
        return list(write_file(io, metadata, iter(tasks)))

    # One file each, so that a failure waits for the other files before they are deleted
    # (pyiceberg's own map would leave them being written).
    def one(task: WriteTask) -> list[DataFile]:
        return list(write_file(io, metadata, iter([task])))

    with ThreadPoolExecutor(min(len(tasks), _WORKERS), thread_name_prefix="rawgwh-write") as pool:
        futures = [pool.submit(one, task) for task in tasks]
    return [f for future in futures for f in future.result()]


def _partitions(
    spec: PartitionSpec, schema: Schema, rows: pa.Table
) -> Iterator[tuple[PartitionKey | None, pa.Table]]:
    """``rows`` as slices, one per partition (zero-copy when sorted by the partition)."""
    from pyiceberg.partitioning import PartitionFieldValue, PartitionKey

    if spec.is_unpartitioned():
        yield None, rows
        return
    partition = spec.fields[0]
    column = schema.find_column_name(partition.source_id)
    assert column is not None
    values = pl.Series(column, rows.column(column))
    if not values.is_sorted(nulls_last=True):
        # A table partitioned before rawgwh stopped partitioning: rows come in game id
        # order, and Arrow's stable sort by the partition keeps it inside each partition.
        order = pc.sort_indices(rows, [(column, "ascending", "at_end")])
        rows = rows.take(order)
        values = pl.Series(column, rows.column(column))
    offset = 0
    for length, value in values.rle().struct.unnest().iter_rows():
        field_value = PartitionFieldValue(field=partition, value=value)
        key = PartitionKey(field_values=[field_value], partition_spec=spec, schema=schema)
        yield key, rows.slice(offset, length)
        offset += length


def _commit(
    table: Table, delete: list[DataFile], add: list[DataFile], sync_id: str, mode: str
) -> int:
    """Exactly one snapshot: the dropped files out, the new ones in, tagged with ``sync_id``
    and the publish's mode."""
    properties = {SYNC_ID_PROPERTY: sync_id, PUBLISH_MODE_PROPERTY: mode}
    with commit_or_busy(".".join(table.name()), table), table.transaction() as tx:
        update = tx.update_snapshot(snapshot_properties=properties)
        with update.overwrite() as overwrite:
            for data_file in delete:
                overwrite.delete_data_file(data_file)
            for data_file in add:
                overwrite.append_data_file(data_file)
    snapshot = table.current_snapshot()
    assert snapshot is not None
    return snapshot.snapshot_id


def published_raw_files(raw_table: Table, marker: PublishedMarker) -> set[str]:
    """The paths of the ``raw.games`` data files the publish ``marker`` was built from.

    By sequence number where the marker has one (it survives catalogs that keep only the
    current snapshot), else by the raw snapshot it names.
    """
    if marker.raw_sequence is not None:
        return {
            f.file_path
            for f, sequence in files_by_sequence(raw_table)
            if sequence <= marker.raw_sequence
        }
    if marker.raw_snapshot is None:
        return set()
    return {f.file_path for f in data_files(raw_table, marker.raw_snapshot)}


def changed_since_publish(warehouse: Warehouse) -> pl.Series | None:
    """Ids of games with raw versions committed since the last publish (None: never published).

    ``raw.games`` only grows, so the new versions are the data files the last publish's raw
    snapshot did not have.
    """
    marker = StarZone(warehouse).marker()
    if marker is None or marker.raw_snapshot is None or not warehouse.has_table(RAW_GAMES):
        return None
    raw_table = warehouse.table(RAW_GAMES)
    seen = published_raw_files(raw_table, marker)
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
        seen = published_raw_files(raw_table, marker)
        files = [f for f in data_files(raw_table) if f.file_path in seen]
        raw = read_files(raw_table, files, columns=["id"])
        expected = int(raw.select(pl.col("id").n_unique()).collect().item())
    return run_checks(tables, expected_games=expected)
