"""Apply extractor events to batches and run state; hand full batches to a committer.

Pure bookkeeping: no I/O here. The writer decides *what* a commit contains (the games
fetched since the last commit, deduplicated by ``(id, updated)``, and the run state that
describes them); the caller decides *how* to commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from timeit import default_timer
from typing import Any

import polars as pl
import pyarrow as pa

from rawgwh.raw.parse import Reject, parse_games, rejects_table
from rawgwh.raw.schema import RAW_GAMES_SCHEMA
from rawgwh.raw.state import RunState, WindowProgress
from rawgwh.source.extract import CursorMoved, Event, PagesFetched, WindowCounted, WindowDone
from rawgwh.source.windows import (
    ONE_DAY,
    ONE_SECOND,
    DateWindow,
    Intervals,
    UndatedWindow,
    UpdatedWindow,
    format_timestamp,
    window_from_key,
)

__all__ = ["Batch", "BatchWriter"]

PARSE_CHUNK = 2_000


@dataclass(slots=True)
class Batch:
    games: pa.Table
    rejects: pa.Table
    duplicates: int


@dataclass(slots=True)
class BatchWriter:
    """Collects pages into deduplicated batches and keeps ``run`` in step with them."""

    run: RunState
    known: pl.DataFrame  # (id, updated) already stored
    fetched_at: datetime
    batch_games: int
    _tables: list[pa.Table] = field(default_factory=list)
    _records: list[Any] = field(default_factory=list)
    _rejects: list[Reject] = field(default_factory=list)
    _rows: int = 0
    duplicates: int = 0
    games_written: int = 0
    rejects_written: int = 0
    started: float = field(default_factory=default_timer)

    @property
    def pending_rows(self) -> int:
        return self._rows

    @property
    def full(self) -> bool:
        # Commits hold half a batch each: one is written while the next fills, so at most
        # `batch_games` are ever fetched and not yet committed.
        return self._rows >= max(1, self.batch_games // 2)

    def apply(self, event: Event) -> None:
        run = self.run
        if isinstance(event, PagesFetched):
            progress = run.windows.setdefault(event.window, WindowProgress())
            if event.page not in progress.pages:
                progress.pages.append(event.page)
            if event.results:
                self._records.extend(event.results)
                self._rows += len(event.results)
                if len(self._records) >= PARSE_CHUNK:
                    self._parse()
        elif isinstance(event, WindowCounted):
            run.windows.setdefault(event.window, WindowProgress()).count = event.count
        elif isinstance(event, CursorMoved):
            progress = run.windows.setdefault(event.window, WindowProgress())
            progress.cursor = format_timestamp(event.cursor)
            progress.pages = []
        elif isinstance(event, WindowDone):
            run.windows.pop(event.window, None)
            _mark_done(run, event.window)

    def _parse(self) -> None:
        # Converting a few thousand records per call amortises pyarrow's per-call setup.
        parsed = parse_games(self._records, sync_id=self.run.id, fetched_at=self.fetched_at)
        if parsed.games.num_rows:
            self._tables.append(parsed.games)
        self._rejects.extend(parsed.rejects)
        self._records = []

    def take(self) -> Batch:
        """Everything applied since the last ``take``, deduplicated against ``known``."""
        if self._records:
            self._parse()
        games = pa.concat_tables(self._tables) if self._tables else RAW_GAMES_SCHEMA.empty_table()
        # Deduplicate on the two key columns only, then take the surviving rows once:
        # copying whole batches (records, nested lists) through Polars would triple memory.
        keys = pl.from_arrow(games.select(["id", "updated"]))
        assert isinstance(keys, pl.DataFrame)
        keys = keys.with_row_index("row").unique(
            subset=["id", "updated"], keep="first", maintain_order=True
        )
        if self.known.height and keys.height:
            keys = keys.join(self.known, on=["id", "updated"], how="anti", maintain_order="left")
        duplicates = games.num_rows - keys.height
        self.duplicates += duplicates
        if keys.height:
            self.known = pl.concat([self.known, keys.drop("row")], how="vertical_relaxed")
            newest = keys.get_column("updated").max()
            if isinstance(newest, datetime):
                stamp = format_timestamp(newest)
                if self.run.max_updated is None or stamp > self.run.max_updated:
                    self.run.max_updated = stamp
        out = games if duplicates == 0 else games.take(keys.get_column("row").to_arrow())
        rejects = rejects_table(self._rejects, sync_id=self.run.id, fetched_at=self.fetched_at)
        self.games_written += out.num_rows
        self.rejects_written += rejects.num_rows
        self.run.games += out.num_rows
        self.run.rejects += rejects.num_rows
        self._tables, self._rejects, self._rows = [], [], 0
        return Batch(out, rejects, duplicates)


def _mark_done(run: RunState, key: str) -> None:
    window = window_from_key(key)
    if isinstance(window, UndatedWindow):
        run.undated_done = True
        return
    step = ONE_DAY if isinstance(window, DateWindow) else ONE_SECOND
    intervals = Intervals(step, [(a, b) for a, b in run.done])
    if isinstance(window, DateWindow | UpdatedWindow):
        intervals.add(window.start, window.end)
    run.done = intervals.dump()
