"""Open a :class:`QueryEngine` over a warehouse, now or as of an earlier snapshot.

Star tables are read as one consistent publish: the snapshots sharing a ``rawgwh.sync-id``.
Now means the publish the ``rawgwh.published`` marker names (never a half-finished one);
``--as-of TIMESTAMP`` means the publish whose ``fact_games`` snapshot (committed last) was
current then; ``--as-of SNAPSHOT_ID`` means the publish that snapshot belongs to (for one
that never finished, the publish readers saw at that moment). Before the first publish has
finished, star tables read empty. The raw zone (``raw_games``, ``raw_rejects``) is read as of
the same moment.

The latest publish is found without pyiceberg when possible (:mod:`rawgwh.query.fastpath`:
importing pyiceberg's catalog costs about a second); time travel, and any warehouse that
reader does not understand, go through pyiceberg.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rawgwh.errors import QueryError
from rawgwh.query import fastpath
from rawgwh.query.engine import CACHE_BYTES, QueryEngine
from rawgwh.settings import Settings

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

    from rawgwh.warehouse.catalog import Warehouse

__all__ = ["TableAt", "open_warehouse_engine", "parse_as_of", "select_snapshots"]

RAW_NAMESPACE = fastpath.RAW_NAMESPACE
STAR_NAMESPACE = fastpath.STAR_NAMESPACE
# Snapshot ids are large random integers; a bare yyyymmdd date has only 8 digits.
_SNAPSHOT_ID = re.compile(r"^\d{10,}$")


@dataclass(frozen=True, slots=True)
class TableAt:
    """A table, and the snapshot of it to read (None: empty at that time)."""

    table: Table
    snapshot: Snapshot | None

    def files(self) -> list[str]:
        return [path for path, _ in self.data_files()]

    def data_files(self) -> list[tuple[str, int]]:
        """Each data file's location and size in bytes (from the table's metadata)."""
        if self.snapshot is None:
            return []
        scan = self.table.scan(snapshot_id=self.snapshot.snapshot_id)
        return [(task.file.file_path, task.file.file_size_in_bytes) for task in scan.plan_files()]

    def schema(self) -> pa.Schema:
        return self.table.schema().as_arrow()


def parse_as_of(value: str) -> int | datetime:
    """A snapshot id (an integer) or a timestamp (ISO 8601; naive means UTC)."""
    text = value.strip()
    if _SNAPSHOT_ID.match(text):
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(
            f"--as-of {value!r} is neither a snapshot id nor a timestamp like "
            "2025-06-01T12:00:00 (`rawgwh status --history` lists the publishes' snapshot ids)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def open_warehouse_engine(
    settings: Settings,
    *,
    as_of: str | None = None,
    fast: bool = True,
    ref: str | None = None,
    remote_reader: str = "arrow",
    cache_bytes: int = CACHE_BYTES,
) -> QueryEngine:
    """A read-only engine over every star and raw table, at ``as_of`` or the latest publish.

    ``ref`` reads another Nessie branch. Files on S3 are read as Arrow datasets through
    pyarrow's S3 client (``remote_reader="fsspec"``: by DuckDB through s3fs; see
    ``benchmarks/stack_bench.py`` for why Arrow is the default). ``fast=False`` always asks
    pyiceberg (the fast path must list the same files). ``cache_bytes``: see
    :class:`~rawgwh.query.engine.QueryEngine`.
    """
    if as_of is None and fast and ref is None and settings.embedded:
        root = settings.warehouse_path
        try:
            latest = fastpath.latest_tables(root)
        except fastpath.Unsupported:
            pass  # pyiceberg knows better, or gives the right error
        else:
            return QueryEngine(
                latest.files,
                columns=latest.columns,
                allowed_roots=[str(root)],
                evolved=latest.evolved,
                cache_bytes=cache_bytes,
            )
    from rawgwh.warehouse.catalog import Warehouse

    if as_of is not None and not settings.embedded:
        ref, as_of = _nessie_as_of(settings, ref, as_of), None
    warehouse = Warehouse.open(settings, ref=ref)
    selected = select_snapshots(warehouse, as_of)
    listed = {name: at.data_files() for name, at in selected.items()}
    return QueryEngine(
        {name: [path for path, _ in files] for name, files in listed.items()},
        schemas={name: at.schema() for name, at in selected.items()},
        allowed_roots=[str(warehouse.root)] if warehouse.root is not None else [],
        storage=warehouse.io_properties(),
        remote_reader=remote_reader,
        evolved={name for name, at in selected.items() if len(at.table.metadata.schemas) != 1},
        cache_bytes=cache_bytes,
        sizes={name: sum(size for _, size in files) for name, files in listed.items()},
    )


def _nessie_as_of(settings: Settings, ref: str | None, as_of: str) -> str:
    """``--as-of`` on Nessie: the commit of the branch that was its head then.

    Nessie keeps a table's history as its own commits (table metadata holds only the
    current snapshot), so time travel is a read of the branch at an older commit.
    """
    from rawgwh.warehouse.nessie import Nessie

    nessie = Nessie.probe(settings.catalog.get("uri", ""))
    if nessie is None:
        return ref or settings.branch  # not Nessie: pyiceberg's snapshots answer it
    branch = (ref or settings.branch).partition("@")[0]
    wanted = parse_as_of(as_of)
    if isinstance(wanted, int):
        raise QueryError(
            "--as-of SNAPSHOT_ID: on Nessie, name a commit instead: --ref BRANCH@HASH, or "
            "--as-of with a timestamp"
        )
    found = nessie.hash_at(branch, wanted)
    if found is None:
        raise QueryError(f"branch {branch} held nothing yet at {wanted.isoformat()}")
    return f"{branch}@{found}"


def _tables(warehouse: Warehouse) -> dict[str, dict[str, Table]]:
    """``{namespace: {query name: table}}`` for the star and raw namespaces."""
    catalog = warehouse.catalog
    namespaces = {ns[0] for ns in catalog.list_namespaces()}
    out: dict[str, dict[str, Table]] = {STAR_NAMESPACE: {}, RAW_NAMESPACE: {}}
    for namespace, prefix in ((STAR_NAMESPACE, ""), (RAW_NAMESPACE, "raw_")):
        if namespace not in namespaces:
            continue
        for identifier in catalog.list_tables(namespace):
            name = identifier[-1]
            out[namespace][prefix + name] = catalog.load_table(identifier)
    return out


def select_snapshots(warehouse: Warehouse, as_of: str | None) -> dict[str, TableAt]:
    """The snapshot to read of every star and raw table (see the module docstring).

    Until a publish has finished, star tables are read empty: a first publish that is
    running, or was killed part-way, has committed some tables and not the others.
    """
    from rawgwh.warehouse.star_zone import ANCHOR_TABLE, StarZone, snapshot_for_sync, sync_id_of

    tables = _tables(warehouse)
    star, raw = tables[STAR_NAMESPACE], tables[RAW_NAMESPACE]
    if as_of is None:
        marker = StarZone(warehouse, create=False).marker() if star else None
        chosen = {
            name: TableAt(
                t,
                None
                if marker is None
                else t.snapshot_by_id(marker.snapshots[name])
                if name in marker.snapshots
                else t.current_snapshot(),  # a table no publish has written yet
            )
            for name, t in star.items()
        }
        return chosen | {name: TableAt(t, t.current_snapshot()) for name, t in raw.items()}

    wanted = parse_as_of(as_of)
    anchor = star.get(ANCHOR_TABLE)
    sync_id: str | None = None
    bound: int | None = None  # a snapshot id names a whole publish, committed after it too
    if isinstance(wanted, int):
        owner = _find_snapshot(tables, wanted)
        moment_ms = owner.timestamp_ms
        if any(t.snapshot_by_id(wanted) for t in star.values()):
            sync_id = sync_id_of(owner)
        if anchor is None or sync_id is None or snapshot_for_sync(anchor, sync_id) is None:
            sync_id, bound = None, moment_ms  # not a finished publish: the one readers saw
    else:
        moment_ms = bound = int(wanted.timestamp() * 1000)
        everything = [t for ts in tables.values() for t in ts.values()]
        if not any(t.snapshot_as_of_timestamp(moment_ms) for t in everything):
            raise QueryError(f"the warehouse held nothing yet at {wanted.isoformat()}")
    if sync_id is None and anchor is not None:
        # fact_games is committed last: its snapshot then names the last finished publish.
        sync_id = sync_id_of(anchor.snapshot_as_of_timestamp(moment_ms))
    chosen = {
        name: TableAt(t, _star_snapshot(t, sync_id, moment_ms, bound) if sync_id else None)
        for name, t in star.items()
    }
    for name, t in raw.items():
        snapshot = t.snapshot_by_id(wanted) if isinstance(wanted, int) else None
        chosen[name] = TableAt(t, snapshot or t.snapshot_as_of_timestamp(moment_ms))
    return chosen


def _find_snapshot(tables: dict[str, dict[str, Table]], snapshot_id: int) -> Snapshot:
    for namespace in (STAR_NAMESPACE, RAW_NAMESPACE):
        for table in tables[namespace].values():
            snapshot = table.snapshot_by_id(snapshot_id)
            if snapshot is not None:
                return snapshot
    raise QueryError(
        f"no table has a snapshot {snapshot_id}: `rawgwh status --history` lists the "
        "publishes and their snapshot ids"
    )


def _star_snapshot(
    table: Table, sync_id: str | None, moment_ms: int, bound: int | None
) -> Snapshot | None:
    """The table's snapshot from publish ``sync_id``, else the one current at ``moment_ms``."""
    from rawgwh.warehouse.star_zone import snapshot_for_sync

    if sync_id is not None:
        snapshot = snapshot_for_sync(table, sync_id, before_ms=bound)
        if snapshot is not None:
            return snapshot
    return table.snapshot_as_of_timestamp(moment_ms)
