"""Sync state: the watermark and the progress of an unfinished run.

It is stored in the summary of the raw-zone snapshot that holds the data it describes,
so the two cannot disagree: whatever a crash leaves behind, the state in the current
snapshot is exactly what that snapshot's data covers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import orjson

__all__ = ["RunState", "WindowProgress", "SyncState", "LastSync", "STATE_PROPERTY"]

STATE_PROPERTY = "rawgwh.state"
SYNC_ID_PROPERTY = "rawgwh.sync-id"


@dataclass(slots=True)
class WindowProgress:
    count: int | None = None
    pages: list[int] = field(default_factory=list)
    cursor: str | None = None


@dataclass(slots=True)
class RunState:
    """An unfinished run: what it set out to fetch and how far it got."""

    id: str
    mode: Literal["backfill", "incremental"]
    started: str  # server time when the run began (ISO seconds)
    dates: list[str] | None = None  # backfill: [FROM, TO]
    undated: bool = False
    updated: list[str] | None = None  # incremental: [FROM, TO]
    done: list[list[str]] = field(default_factory=list)  # merged intervals
    undated_done: bool = False
    windows: dict[str, WindowProgress] = field(default_factory=dict)
    max_updated: str | None = None
    games: int = 0
    rejects: int = 0


@dataclass(slots=True)
class LastSync:
    id: str
    mode: str
    finished: str
    games: int
    rejects: int
    requests: int


@dataclass(slots=True)
class SyncState:
    watermark: str | None = None
    scope: list[str] | None = None  # the --dates of the backfill that set the watermark
    run: RunState | None = None
    last: LastSync | None = None
    # The raw.rejects snapshot that goes with this raw.games snapshot: the two tables cannot
    # commit together, so a crash between them is undone by rolling rejects back to it.
    rejects_snapshot: int | None = None

    def to_json(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_json(cls, text: str | None) -> SyncState:
        if not text:
            return cls()
        data: dict[str, Any] = orjson.loads(text)
        run = data.get("run")
        last = data.get("last")
        return cls(
            watermark=data.get("watermark"),
            scope=data.get("scope"),
            run=_run(run) if run else None,
            last=LastSync(**last) if last else None,
            rejects_snapshot=data.get("rejects_snapshot"),
        )


def _run(data: dict[str, Any]) -> RunState:
    windows = {k: WindowProgress(**v) for k, v in (data.pop("windows", None) or {}).items()}
    return RunState(**data, windows=windows)
