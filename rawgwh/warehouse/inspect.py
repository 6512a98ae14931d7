"""What is in a warehouse: tables, sizes, snapshots, the watermark and the last sync."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rawgwh.raw.state import SyncState
from rawgwh.settings import Settings
from rawgwh.warehouse.catalog import Warehouse
from rawgwh.warehouse.raw_zone import RAW_GAMES, RawZone

__all__ = ["Publish", "TableStatus", "WarehouseStatus", "publish_history", "warehouse_status"]


@dataclass(frozen=True, slots=True)
class TableStatus:
    name: str
    rows: int
    files: int
    bytes: int
    snapshots: int
    last_commit: str | None
    snapshot_id: int | None


@dataclass(frozen=True, slots=True)
class WarehouseStatus:
    location: str
    tables: list[TableStatus]
    state: SyncState


@dataclass(frozen=True, slots=True)
class Publish:
    """One publish of the star, as its ``fact_games`` snapshot (committed last) records it."""

    committed: str  # UTC, ISO 8601 to the second
    sync_id: str | None
    mode: str | None  # None for publishes made before rawgwh recorded it
    games: int
    snapshot_id: int  # what `rawgwh query --as-of` takes


def publish_history(settings: Settings) -> list[Publish]:
    """Read-only: every publish the warehouse still has snapshots of, newest first."""
    from rawgwh.warehouse.star_zone import (
        ANCHOR_TABLE,
        PUBLISH_MODE_PROPERTY,
        STAR_NAMESPACE,
        sync_id_of,
    )

    warehouse = Warehouse.open(settings)
    name = f"{STAR_NAMESPACE}.{ANCHOR_TABLE}"
    if not warehouse.has_table(name):
        return []
    snapshots = warehouse.catalog.load_table(name).snapshots()
    newest_first = sorted(snapshots, key=lambda s: (s.timestamp_ms, s.sequence_number or 0))[::-1]
    return [
        Publish(
            committed=_utc(s.timestamp_ms),
            sync_id=sync_id_of(s),
            mode=s.summary.get(PUBLISH_MODE_PROPERTY) if s.summary else None,
            games=int(s.summary.get("total-records", "0")) if s.summary else 0,
            snapshot_id=s.snapshot_id,
        )
        for s in newest_first
    ]


def _utc(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat(timespec="seconds")


def warehouse_status(settings: Settings) -> WarehouseStatus:
    """Read-only: open the warehouse and describe every table in it."""
    warehouse = Warehouse.open(settings)
    tables: list[TableStatus] = []
    for namespace in warehouse.catalog.list_namespaces():
        for identifier in warehouse.catalog.list_tables(namespace):
            name = ".".join(identifier)
            table = warehouse.catalog.load_table(name)
            snapshot = table.current_snapshot()
            summary = snapshot.summary if snapshot and snapshot.summary else None
            tables.append(
                TableStatus(
                    name=name,
                    rows=int(summary.get("total-records", "0")) if summary else 0,
                    files=int(summary.get("total-data-files", "0")) if summary else 0,
                    bytes=int(summary.get("total-files-size", "0")) if summary else 0,
                    snapshots=len(table.snapshots()),
                    last_commit=_utc(snapshot.timestamp_ms) if snapshot else None,
                    snapshot_id=snapshot.snapshot_id if snapshot else None,
                )
            )
    state = (
        RawZone(warehouse, create=False).state() if warehouse.has_table(RAW_GAMES) else SyncState()
    )
    location = str(warehouse.root) if warehouse.root is not None else warehouse.location
    if warehouse.ref is not None:
        location += f" @ {warehouse.ref}"
    return WarehouseStatus(location, sorted(tables, key=lambda t: t.name), state)
