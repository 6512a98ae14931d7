"""What is in a warehouse: tables, sizes, snapshots, the watermark and the last sync."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rawgwh.raw.state import SyncState
from rawgwh.settings import Settings
from rawgwh.warehouse.catalog import Warehouse
from rawgwh.warehouse.raw_zone import RAW_GAMES, RawZone

__all__ = ["TableStatus", "WarehouseStatus", "warehouse_status"]


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
                    last_commit=(
                        datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC).isoformat(
                            timespec="seconds"
                        )
                        if snapshot
                        else None
                    ),
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
