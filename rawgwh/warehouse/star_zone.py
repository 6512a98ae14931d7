"""The star zone in Iceberg: namespace ``star``, one table per star table, and its marker.

Every publish gives every star table exactly one snapshot whose summary carries
``rawgwh.sync-id``; after the last table is committed, the namespace property
``rawgwh.published`` records which snapshot of each table makes up that publish. Readers
that follow the marker never see a half-finished publish.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl
import pyarrow as pa

from rawgwh.errors import WarehouseError
from rawgwh.model import STAR_SCHEMAS, STAR_TABLES
from rawgwh.raw.state import SYNC_ID_PROPERTY
from rawgwh.warehouse.catalog import NO_COMMIT_RETRIES, Warehouse, commit_or_busy
from rawgwh.warehouse.storage import is_remote, local_path, polars_storage_options

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

__all__ = [
    "ANCHOR_TABLE",
    "PUBLISHED_PROPERTY",
    "PUBLISH_MODE_PROPERTY",
    "STAR_NAMESPACE",
    "TARGET_FILE_SIZE",
    "PublishedMarker",
    "StarZone",
    "data_files",
    "local_path",
    "read_arrow",
    "read_files",
    "snapshot_for_sync",
    "sync_id_of",
]

STAR_NAMESPACE = "star"
PUBLISHED_PROPERTY = "rawgwh.published"
#: In each star snapshot's summary beside the sync id: "full" or "incremental".
PUBLISH_MODE_PROPERTY = "rawgwh.publish-mode"
#: Committed last in every publish: its snapshot as of a time names the publish then current.
ANCHOR_TABLE = "fact_games"
# pyiceberg bin-packs by in-memory Arrow bytes; Parquet with zstd is several times smaller.
TARGET_FILE_SIZE = 256 * 1024 * 1024

# No star table is partitioned: partitions by release year gave ~60 small files per fact
# at 10k games, and a query pays per file. Warehouses made before keep their spec.
_PARTITIONS: dict[str, tuple[str, ...]] = {}
_SORTS: dict[str, tuple[str, ...]] = {"dim_date": ("date_key",)}
_PROPERTIES = {
    "write.target-file-size-bytes": str(TARGET_FILE_SIZE),
    "write.parquet.compression-codec": "zstd",
    # Several row groups per file let DuckDB scan one file on every core.
    "write.parquet.row-group-limit": "131072",
    **NO_COMMIT_RETRIES,
}


def _sort_columns(name: str) -> tuple[str, ...]:
    if name in _SORTS:
        return _SORTS[name]
    first = STAR_SCHEMAS[name].names[0]
    return (first,)  # dimensions by surrogate key, bridges by game_id


@dataclass(frozen=True, slots=True)
class PublishedMarker:
    """The last complete publish: its sync id, each star table's snapshot id, and the
    ``raw.games`` snapshot it was built from (what changed since is the next delta)."""

    sync_id: str
    mode: str
    snapshots: dict[str, int]
    raw_snapshot: int | None = None
    games: int | None = None  # the games the publish was checked against (raw minus deleted)
    # The raw snapshot's sequence number: files with a higher one arrived since. Catalogs
    # that keep only the current snapshot (Nessie) forget raw_snapshot, never this.
    raw_sequence: int | None = None

    def to_json(self) -> str:
        return orjson.dumps(
            {
                "sync_id": self.sync_id,
                "mode": self.mode,
                "snapshots": self.snapshots,
                "raw_snapshot": self.raw_snapshot,
                "games": self.games,
                "raw_sequence": self.raw_sequence,
            }
        ).decode()

    @classmethod
    def from_json(cls, text: str | None) -> PublishedMarker | None:
        if not text:
            return None
        data: dict[str, Any] = orjson.loads(text)
        snapshots = {str(k): int(v) for k, v in data.get("snapshots", {}).items()}
        raw, games, sequence = data.get("raw_snapshot"), data.get("games"), data.get("raw_sequence")
        return cls(
            str(data["sync_id"]),
            str(data.get("mode", "")),
            snapshots,
            int(raw) if raw is not None else None,
            int(games) if games is not None else None,
            int(sequence) if sequence is not None else None,
        )


def sync_id_of(snapshot: Snapshot | None) -> str | None:
    if snapshot is None or snapshot.summary is None:
        return None
    return snapshot.summary.get(SYNC_ID_PROPERTY)


def snapshot_for_sync(
    table: Table, sync_id: str, *, before_ms: int | None = None
) -> Snapshot | None:
    """The newest snapshot of ``table`` committed by ``sync_id`` (a retried publish may repeat)."""
    found = [
        s
        for s in table.snapshots()
        if sync_id_of(s) == sync_id and (before_ms is None or s.timestamp_ms <= before_ms)
    ]
    return max(found, key=lambda s: (s.timestamp_ms, s.sequence_number or 0)) if found else None


def read_files(
    table: Table,
    files: Sequence[DataFile],
    *,
    columns: Sequence[str] | None = None,
    with_file: bool = False,
) -> pl.LazyFrame:
    """A lazy scan of ``files`` (data files of ``table``, no delete files) with Polars.

    Polars reads local Parquet much faster than pyiceberg's scan; the star and raw tables
    are written only by rawgwh, append or copy-on-write, so there are no delete files and
    column names match. ``with_file`` adds ``_file`` (the local path) to every row.
    """
    names = list(columns) if columns is not None else table.schema().as_arrow().names
    if not files:
        schema = pl.from_arrow(table.schema().as_arrow().empty_table())
        assert isinstance(schema, pl.DataFrame)
        empty = schema.select(names)
        if with_file:
            empty = empty.with_columns(pl.lit(None, pl.String).alias("_file"))
        return empty.lazy()
    paths, options = _sources([f.file_path for f in files], table.io.properties)
    return pl.scan_parquet(
        paths,
        storage_options=options,
        hive_partitioning=False,
        missing_columns="insert",
        include_file_paths="_file" if with_file else None,
    ).select(names + (["_file"] if with_file else []))


def _sources(
    locations: Sequence[str], properties: Mapping[str, str]
) -> tuple[list[str], dict[str, Any] | None]:
    """Paths Polars can scan, and the storage options that reach them (None: local)."""
    if not any(is_remote(loc) for loc in locations):
        return [local_path(loc) or loc for loc in locations], None
    return list(locations), polars_storage_options(properties)


def read_arrow(
    name: str,
    files: Sequence[DataFile],
    columns: Sequence[str] | None = None,
    *,
    without_games: pl.Series | None = None,
    properties: Mapping[str, str] | None = None,
) -> list[pa.Table]:
    """Each of ``files`` (data files of star table ``name``) as an Arrow table in
    :data:`STAR_SCHEMAS` types, one per file, in order; ``without_games`` leaves out the
    rows of those game ids (while decoding: the other columns of their rows are skipped).
    ``properties`` are the table's file-IO properties (``table.io.properties``) for S3.

    Polars decodes Parquet about twice as fast as pyarrow; its strings convert back to
    Arrow's with one copy.
    """
    schema = STAR_SCHEMAS[name]
    names = list(columns) if columns is not None else schema.names
    wanted = pa.schema([schema.field(n) for n in names])
    out: list[pa.Table] = []
    for data_file in files:
        paths, options = _sources([data_file.file_path], properties or {})
        scan = pl.scan_parquet(paths[0], storage_options=options, hive_partitioning=False)
        scan = scan.select(names)
        if without_games is not None:
            scan = scan.filter(~pl.col("game_id").is_in(without_games.implode()))
        frame = scan.collect()
        out.append(frame.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(wanted))
    return out


def data_files(table: Table, snapshot_id: int | None = None) -> list[DataFile]:
    """The data files of ``table`` at ``snapshot_id`` (default: current; none when empty)."""
    if snapshot_id is None and table.current_snapshot() is None:
        return []
    tasks = list(table.scan(snapshot_id=snapshot_id).plan_files())
    if any(t.delete_files for t in tasks):  # rawgwh appends or rewrites: never delete files
        raise WarehouseError(f"{table.name()} has delete files, which rawgwh does not write")
    return [t.file for t in tasks]


def files_by_sequence(table: Table) -> list[tuple[DataFile, int]]:
    """The current data files of ``table``, each with the sequence number that added it."""
    snapshot = table.current_snapshot()
    if snapshot is None:
        return []
    out: list[tuple[DataFile, int]] = []
    for manifest in snapshot.manifests(table.io):
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            sequence = entry.sequence_number
            out.append((entry.data_file, sequence if sequence is not None else 0))
    return out


class StarZone:
    """The star tables of a warehouse, created with their layout on first use."""

    def __init__(self, warehouse: Warehouse, *, create: bool = True, defer: bool = False) -> None:
        """Load the star tables; create missing ones (``create``), now or, with ``defer``,
        when :meth:`create_missing` is called (a publish does it while it builds)."""
        self.warehouse = warehouse
        self.tables: dict[str, Table] = {}
        existing = self._existing() if create else set(STAR_TABLES)
        for name in STAR_TABLES:
            if name in existing:
                self.tables[name] = warehouse.catalog.load_table(f"{STAR_NAMESPACE}.{name}")
        #: Star tables not in the catalog yet.
        self.missing = [n for n in STAR_TABLES if n not in existing]
        if create and not defer:
            self.create_missing()

    def create_missing(self) -> None:
        """Create the tables in :attr:`missing`. Nothing else may use the catalog meanwhile."""
        if not self.missing:
            return
        self.warehouse.catalog.create_namespace_if_not_exists(STAR_NAMESPACE)
        for name in self.missing:
            self.tables[name] = self._create(f"{STAR_NAMESPACE}.{name}", name)
        self.missing = []

    def _existing(self) -> set[str]:
        """The star tables already in the catalog, in one listing."""
        from pyiceberg.exceptions import NoSuchNamespaceError

        try:
            listed = self.warehouse.catalog.list_tables(STAR_NAMESPACE)
        except NoSuchNamespaceError:
            return set()
        return {identifier[-1] for identifier in listed}

    def _create(self, full: str, name: str) -> Table:
        """One catalog commit per table: schema, partition spec and sort order together."""
        from pyiceberg.catalog import Catalog
        from pyiceberg.partitioning import PartitionField, PartitionSpec
        from pyiceberg.schema import assign_fresh_schema_ids
        from pyiceberg.table.sorting import SortField, SortOrder
        from pyiceberg.transforms import IdentityTransform

        schema = assign_fresh_schema_ids(Catalog._convert_schema_if_needed(STAR_SCHEMAS[name]))
        spec = PartitionSpec(
            *[
                PartitionField(
                    source_id=schema.find_field(column).field_id,
                    field_id=1000 + i,
                    transform=IdentityTransform(),
                    name=column,
                )
                for i, column in enumerate(_PARTITIONS.get(name, ()))
            ]
        )
        order = SortOrder(
            *[
                SortField(source_id=schema.find_field(c).field_id, transform=IdentityTransform())
                for c in _sort_columns(name)
            ]
        )
        return self.warehouse.catalog.create_table_if_not_exists(
            full, schema=schema, partition_spec=spec, sort_order=order, properties=_PROPERTIES
        )

    def refresh(self) -> None:
        for table in self.tables.values():
            table.refresh()

    def marker(self) -> PublishedMarker | None:
        from pyiceberg.exceptions import NoSuchNamespaceError

        try:
            properties = self.warehouse.catalog.load_namespace_properties(STAR_NAMESPACE)
        except NoSuchNamespaceError:  # no publish has created the star yet
            return None
        return PublishedMarker.from_json(properties.get(PUBLISHED_PROPERTY))

    def set_marker(self, marker: PublishedMarker) -> None:
        with commit_or_busy(f"the {STAR_NAMESPACE} namespace"):
            self.warehouse.catalog.update_namespace_properties(
                STAR_NAMESPACE, updates={PUBLISHED_PROPERTY: marker.to_json()}
            )

    def current_ids(self) -> dict[str, int]:
        return {
            name: snapshot.snapshot_id
            for name, table in self.tables.items()
            if (snapshot := table.current_snapshot()) is not None
        }

    def consistent(self) -> bool:
        """True when every table is at the snapshot the last complete publish recorded."""
        marker = self.marker()
        current = self.current_ids()
        if marker is None:
            return not current  # nothing published yet, and nothing half-published
        return current == marker.snapshots

    def files(self, name: str, snapshot_id: int | None = None) -> list[DataFile]:
        """The data files of ``name`` at ``snapshot_id`` (default: current)."""
        return data_files(self.tables[name], snapshot_id)

    def read(
        self, names: Iterable[str], snapshots: Mapping[str, int] | None = None
    ) -> dict[str, pl.DataFrame]:
        """The rows of ``names`` (current, or at ``snapshots``), in one Polars collect."""
        wanted = list(names)
        at = snapshots or {}
        plans = [read_files(self.tables[n], self.files(n, at.get(n))) for n in wanted]
        return dict(zip(wanted, pl.collect_all(plans), strict=True))

    def schemas(self) -> Mapping[str, pa.Schema]:
        return {name: STAR_SCHEMAS[name] for name in self.tables}
