"""Walk windows with the client and emit what was fetched, in an order the writer can trust.

The extractor emits events; the writer applies them in order. A window's pages are
emitted before its ``WindowDone``, so whatever the writer has committed describes
exactly the progress it can resume from.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rawgwh.source.client import Page, RawgClient
from rawgwh.source.windows import (
    ONE_SECOND,
    DateWindow,
    UndatedWindow,
    UpdatedWindow,
    Window,
    format_timestamp,
    parse_timestamp,
)

__all__ = [
    "Event",
    "PagesFetched",
    "WindowCounted",
    "WindowDone",
    "CursorMoved",
    "Partial",
    "ExtractStats",
    "Extractor",
]


@dataclass(frozen=True, slots=True)
class PagesFetched:
    window: str
    page: int
    results: list[Any]
    server_time: datetime | None


@dataclass(frozen=True, slots=True)
class WindowCounted:
    window: str
    count: int
    pages: int


@dataclass(frozen=True, slots=True)
class CursorMoved:
    """Keyset progress: every game of the window updated before ``cursor`` is emitted."""

    window: str
    cursor: datetime


@dataclass(frozen=True, slots=True)
class WindowDone:
    window: str


Event = PagesFetched | WindowCounted | CursorMoved | WindowDone


@dataclass(slots=True)
class Partial:
    """What a previous run committed of a window it did not finish."""

    count: int | None = None
    pages_done: set[int] = field(default_factory=set)
    cursor: datetime | None = None


@dataclass(slots=True)
class ExtractStats:
    windows_seen: int = 0
    windows_done: int = 0
    windows_split: int = 0
    pages_fetched: int = 0
    pages_expected: int = 0
    games_fetched: int = 0
    # From the counts of the planned windows (children of a split are inside them): an
    # estimate for progress and ETA, not a promise.
    games_expected: int = 0
    windows_rewalked: int = 0


Emit = Callable[[Event], Awaitable[None]]

# How many times a window whose count dropped while it was read is read again.
REWALKS = 2
# Pages of the undated walk read again when a run resumes it: up to 80 of its games may
# have been given a release date meanwhile without costing another.
UNDATED_RESUME_OVERLAP = 2


class Extractor:
    """Fetch every game in ``windows``; split windows too large to paginate reliably."""

    def __init__(
        self,
        client: RawgClient,
        emit: Emit,
        *,
        window_limit: int,
        scope: Mapping[str, str] | None = None,
        window_concurrency: int = 4,
        stats: ExtractStats | None = None,
    ) -> None:
        self.client = client
        self.emit = emit
        self.window_limit = window_limit
        self.scope = dict(scope or {})
        self.stats = stats or ExtractStats()
        self._window_slots = asyncio.Semaphore(window_concurrency)
        self._page_size = client.page_size

    async def run(self, windows: list[Window], partial: Mapping[str, Partial]) -> None:
        async with asyncio.TaskGroup() as group:
            for window in windows:
                self.stats.windows_seen += 1
                group.create_task(self._window(window, partial.get(window.key), group, top=True))

    async def _window(
        self, window: Window, partial: Partial | None, group: asyncio.TaskGroup, *, top: bool
    ) -> None:
        async with self._window_slots:
            if isinstance(window, DateWindow):
                children = await self._offset_window(window, partial, top)
            elif isinstance(window, UpdatedWindow):
                children = await self._keyset_window(window, partial, top)
            else:
                children = await self._undated_window(window, partial)
        if children:
            self.stats.windows_split += 1
            self.stats.windows_done += 1  # replaced by its children
            for child in children:
                self.stats.windows_seen += 1
                group.create_task(self._window(child, None, group, top=False))
        else:
            self.stats.windows_done += 1

    async def _get(self, params: Mapping[str, str], page: int) -> Page:
        result = await self.client.fetch_page({**self.scope, **params}, page)
        self.stats.pages_fetched += 1
        self.stats.games_fetched += len(result.results)
        return result

    async def _offset_window(
        self, window: DateWindow, partial: Partial | None, top: bool
    ) -> list[Window]:
        params = window.params()
        done = set(partial.pages_done) if partial else set()
        count = partial.count if partial else None
        if count is None:
            first = await self._get(params, 1)
            count = first.count
            if top:
                self.stats.games_expected += count
            if count > self.window_limit and window.splittable:
                # The page is thrown away, but its release dates show where the games lie.
                return list(window.split(count, self.window_limit, first.results))
            pages = max(1, math.ceil(count / self._page_size))
            self.stats.pages_expected += pages
            await self.emit(WindowCounted(window.key, count, pages))
            await self.emit(PagesFetched(window.key, 1, first.results, first.server_time))
            done.add(1)
            last_full = first.has_next
        else:
            pages = max(1, math.ceil(count / self._page_size))
            self.stats.pages_expected += pages - len(done)
            self.stats.games_expected += max(0, count - len(done) * self._page_size)
            last_full = True
        todo = [p for p in range(1, pages + 1) if p not in done]
        counts: list[int] = []

        async def fetch(number: int) -> tuple[int, bool]:
            # Return only what is needed later: holding whole pages until the window
            # completes would keep thousands of records alive.
            page = await self._get(params, number)
            counts.append(page.count)
            await self.emit(PagesFetched(window.key, number, page.results, page.server_time))
            return number, page.has_next and bool(page.results)

        for walk in range(1 + REWALKS):
            outcomes = await asyncio.gather(*(fetch(p) for p in todo))
            if outcomes:
                last_full = max(outcomes)[1]
            # Games created while we read land at the end (ordering=created): follow them.
            number = pages
            while last_full:
                number += 1
                _, last_full = await fetch(number)
            # A game that left the window while we read (deleted, or its release date
            # changed) shifts every later game back one place: one may slip behind a page
            # already read. The count shows it; read the window again (dedup makes it free
            # of duplicates) rather than lose a game no later run would look for.
            if not counts or min(counts) >= count or walk == REWALKS:
                break
            first = await self._get(params, 1)
            await self.emit(PagesFetched(window.key, 1, first.results, first.server_time))
            if first.count >= count:
                break  # a passing glitch in one answer's count, not games leaving
            self.stats.windows_rewalked += 1
            count = first.count
            pages = max(1, math.ceil(count / self._page_size))
            todo, counts, last_full = list(range(2, pages + 1)), [first.count], first.has_next
        await self.emit(WindowDone(window.key))
        return []

    async def _keyset_window(
        self, window: UpdatedWindow, partial: Partial | None, top: bool
    ) -> list[Window]:
        cursor = partial.cursor if partial else None
        first_request = cursor is None
        cursor = cursor or window.start
        while True:
            page = await self._get(window.params(cursor), 1)
            if first_request and (top or partial):
                self.stats.games_expected += page.count
            if first_request and page.count > self.window_limit and window.splittable:
                # Equal spans: this page holds the window's earliest updates, not a sample.
                return list(window.split(page.count, self.window_limit))
            if first_request:
                pages = max(1, math.ceil(page.count / self._page_size))
                self.stats.pages_expected += pages
                await self.emit(WindowCounted(window.key, page.count, pages))
                first_request = False
            await self.emit(PagesFetched(window.key, 1, page.results, page.server_time))
            if not page.has_next:
                break
            newest = _max_updated(page.results)
            if newest is None or newest <= cursor:
                # A full page of games updated in the same second: page through that
                # second by offset, then step past it.
                await self._same_second(window, cursor)
                newest = cursor + ONE_SECOND
            cursor = newest
            await self.emit(CursorMoved(window.key, cursor))
            if cursor > window.end:
                break
        await self.emit(WindowDone(window.key))
        return []

    async def _same_second(self, window: UpdatedWindow, second: datetime) -> None:
        stamp = format_timestamp(second)
        params = {"updated": f"{stamp},{stamp}", "ordering": "updated"}
        for _ in range(1 + REWALKS):
            counts: list[int] = []
            number = 0
            while True:
                number += 1
                page = await self._get(params, number)
                counts.append(page.count)
                await self.emit(PagesFetched(window.key, number, page.results, page.server_time))
                if not page.has_next or not page.results:
                    break
            # A game of this second edited meanwhile leaves it, and every later one moves
            # back a place: one may slip behind a page already read, and the watermark
            # passes this second for good. A past second gains no games, so a smaller count
            # shows it: read the second again (dedup makes that free of duplicates).
            if min(counts) >= counts[0]:
                return
            self.stats.windows_rewalked += 1

    async def _undated_window(self, window: UndatedWindow, partial: Partial | None) -> list[Window]:
        params = window.params()
        number = max(partial.pages_done) if partial and partial.pages_done else 0
        # Undated games given a release date since those pages were read (a resume may come
        # days later) move every later one back a place, behind the pages done: read the
        # last ones again (dedup makes that free of duplicates).
        number = max(0, number - UNDATED_RESUME_OVERLAP)
        while True:
            number += 1
            page = await self._get(params, number)
            undated = [r for r in page.results if _is_undated(r)]
            if number == 1 and page.results and not undated and window.descending:
                # This server sorts nulls first when ascending (SQLite, MySQL do).
                await self.emit(WindowDone(window.key))
                return [UndatedWindow(descending=False)]
            await self.emit(PagesFetched(window.key, number, undated, page.server_time))
            if len(undated) < len(page.results) or not page.has_next or not page.results:
                break
        await self.emit(WindowDone(window.key))
        return []


def _is_undated(record: Any) -> bool:
    return isinstance(record, dict) and not record.get("released")


def _max_updated(results: list[Any]) -> datetime | None:
    newest: datetime | None = None
    for record in results:
        value = record.get("updated") if isinstance(record, dict) else None
        if not isinstance(value, str):
            continue
        try:
            stamp = parse_timestamp(value).replace(microsecond=0)
        except ValueError:
            continue
        if newest is None or stamp > newest:
            newest = stamp
    return newest
