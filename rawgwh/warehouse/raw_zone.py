"""The raw zone in Iceberg: ``raw.games`` (every game version) and ``raw.rejects``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from rawgwh.errors import WarehouseError
from rawgwh.raw.schema import RAW_GAMES_SCHEMA, REJECTS_SCHEMA
from rawgwh.raw.state import STATE_PROPERTY, SYNC_ID_PROPERTY, SyncState
from rawgwh.warehouse.catalog import Warehouse, commit_or_busy, writing

if TYPE_CHECKING:
    from pyiceberg.table import Table

__all__ = ["RawZone", "RAW_GAMES", "RAW_REJECTS"]

RAW_GAMES = "raw.games"
RAW_REJECTS = "raw.rejects"


class RawZone:
    def __init__(self, warehouse: Warehouse, *, create: bool = True) -> None:
        """Open the raw zone; ``create=False`` for readers, which must never create tables
        (a reader racing a first sync would otherwise create them twice)."""
        self.warehouse = warehouse
        if not create and not warehouse.has_table(RAW_GAMES):
            raise WarehouseError(
                f"no raw zone in {warehouse.location} yet: run `rawgwh sync` first"
            )
        self.games: Table = warehouse.table(RAW_GAMES, RAW_GAMES_SCHEMA if create else None)
        self.rejects: Table = warehouse.table(RAW_REJECTS, REJECTS_SCHEMA if create else None)

    def state(self) -> SyncState:
        """The sync state committed with the current raw snapshot."""
        snapshot = self.games.current_snapshot()
        if snapshot is None or snapshot.summary is None:
            return SyncState()
        return SyncState.from_json(snapshot.summary.get(STATE_PROPERTY))

    def existing_keys(self, since: datetime | None = None) -> pl.DataFrame:
        """``(id, updated)`` of stored versions, optionally only those updated since ``since``."""
        if self.games.current_snapshot() is None:
            return _empty_keys()
        row_filter = f"updated >= '{since.isoformat()}'" if since is not None else "True"
        table = self.games.scan(row_filter=row_filter, selected_fields=("id", "updated")).to_arrow()
        return pl.from_arrow(table).select("id", "updated")  # type: ignore[union-attr]

    def commit(self, games: pa.Table, rejects: pa.Table, state: SyncState, *, sync_id: str) -> None:
        """Append one batch and the state that describes it, in one raw snapshot.

        Rejects go first; the games snapshot then names the rejects snapshot it goes with,
        so :meth:`recover` can undo rejects whose games never landed.
        """
        zone = f"the raw zone of {self.warehouse.location}"
        with writing(self.warehouse.location), commit_or_busy(zone, self.rejects, self.games):
            if rejects.num_rows:
                self.rejects.append(rejects, snapshot_properties={SYNC_ID_PROPERTY: sync_id})
            current = self.rejects.current_snapshot()
            state.rejects_snapshot = current.snapshot_id if current else None
            self.games.append(
                games,
                snapshot_properties={STATE_PROPERTY: state.to_json(), SYNC_ID_PROPERTY: sync_id},
            )

    def recover(self) -> None:
        """Undo rejects committed by a batch whose games commit never happened (a crash
        between the two): the resumed run fetches those pages, and their rejects, again."""
        expected = self.state().rejects_snapshot
        current = self.rejects.current_snapshot()
        if current is None or current.snapshot_id == expected:
            return
        if expected is None:
            self.rejects.delete("True")
        else:
            self.rejects.manage_snapshots().rollback_to_snapshot(expected).commit()

    def count(self) -> int:
        snapshot = self.games.current_snapshot()
        if snapshot is None or snapshot.summary is None:
            return 0
        return int(snapshot.summary.get("total-records", "0"))


def _empty_keys() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"id": pl.Int64, "updated": pl.Datetime("us")},
    )
