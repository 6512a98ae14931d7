"""``sync``: RAWG -> raw zone (-> star schema, once the model stage is chained in).

Plans the run (resume an unfinished one, else a backfill or an incremental run from the
watermark), fetches with the extractor, and commits batches to the raw zone together with
the state that lets the next run resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from timeit import default_timer
from typing import TYPE_CHECKING, Literal

from rawgwh.errors import BudgetExhausted, RawgwhError
from rawgwh.raw.state import LastSync, RunState, SyncState
from rawgwh.raw.writer import BatchWriter
from rawgwh.settings import Settings
from rawgwh.source.client import RawgClient
from rawgwh.source.extract import Event, Extractor, ExtractStats, PagesFetched, Partial
from rawgwh.source.windows import (
    DEFAULT_FIRST_DATE,
    DEFAULT_LAST_DATE,
    ONE_DAY,
    ONE_SECOND,
    DateWindow,
    Intervals,
    UndatedWindow,
    UpdatedWindow,
    Window,
    format_timestamp,
    parse_timestamp,
    window_from_key,
)
from rawgwh.warehouse.catalog import Warehouse
from rawgwh.warehouse.raw_zone import RawZone

if TYPE_CHECKING:
    from rawgwh.warehouse.publish import PublishResult

__all__ = ["SyncResult", "SyncProgress", "sync", "plan_windows"]

# How far before a backfill's start the next incremental run looks, for clock skew
# between the API's `updated` values and its Date header.
WATERMARK_MARGIN = timedelta(hours=1)


@dataclass(slots=True)
class SyncProgress:
    """Live counters for a progress display; read them from another task or thread."""

    mode: str = ""
    extract: ExtractStats = field(default_factory=ExtractStats)
    games_written: int = 0
    rejects: int = 0
    duplicates: int = 0
    commits: int = 0
    requests: int = 0
    requests_left: int | None = None
    retries: int = 0
    started: float = field(default_factory=default_timer)


@dataclass(frozen=True, slots=True)
class SyncResult:
    sync_id: str
    mode: Literal["backfill", "incremental"]
    resumed: bool
    games_added: int
    rejects: int
    duplicates: int
    requests: int
    retries: int
    commits: int
    seconds: float
    watermark: str | None
    raw_rows: int
    published: PublishResult | None = None
    publish_requested: bool = True


def sync(
    settings: Settings,
    *,
    dates: tuple[date, date] | None = None,
    full: bool = False,
    progress: SyncProgress | None = None,
    on_commit: Callable[[SyncProgress], None] | None = None,
    publish: bool = True,
) -> SyncResult:
    """Fetch what changed upstream into the raw zone, then model and publish the star.

    Resumes an unfinished run. When the request budget runs out, what was fetched is
    committed and published before :class:`BudgetExhausted` is raised.
    """
    progress = progress or SyncProgress()
    with Warehouse.for_writing(settings) as warehouse, _few_collections():
        try:
            result = asyncio.run(_sync(settings, warehouse, dates, full, progress, on_commit))
        except BudgetExhausted:
            if publish:
                run = RawZone(warehouse).state().run
                _publish(warehouse, run.id if run else _new_sync_id(), progress)
            raise
        if publish:
            return replace(result, published=_publish(warehouse, result.sync_id, progress))
        return replace(result, publish_requested=False)


def _publish(warehouse: Warehouse, sync_id: str, progress: SyncProgress) -> PublishResult | None:
    """Model and publish the games whose raw versions arrived since the last publish.

    Nothing new means no new snapshots: readers keep seeing the same publish.
    """
    from rawgwh.warehouse.publish import changed_since_publish, publish

    changed = changed_since_publish(warehouse)
    if changed is not None and changed.len() == 0:
        return None
    progress.mode = "publishing"
    return publish(warehouse, sync_id=sync_id, changed_ids=changed)


@contextlib.contextmanager
def _few_collections() -> Iterator[None]:
    """Decoding pages makes millions of short-lived objects; the default GC thresholds
    would traverse the long-lived heap over and over for nothing."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


async def _sync(
    settings: Settings,
    warehouse: Warehouse,
    dates: tuple[date, date] | None,
    full: bool,
    progress: SyncProgress,
    on_commit: Callable[[SyncProgress], None] | None,
) -> SyncResult:
    zone = RawZone(warehouse)
    zone.recover()
    state = zone.state()
    run, resumed = _plan_run(state, dates=dates, full=full)
    progress.mode = run.mode
    windows, partial = plan_windows(run)
    known_since = (
        parse_timestamp(run.updated[0]) if run.mode == "incremental" and run.updated else None
    )
    writer = BatchWriter(
        run=run,
        known=zone.existing_keys(since=known_since),
        fetched_at=datetime.now(UTC),
        batch_games=settings.batch_games,
    )
    scope = {"dates": ",".join(state.scope)} if run.mode == "incremental" and state.scope else {}
    started = default_timer()
    commit_lock = asyncio.Lock()
    # Fetching goes on while a batch is written, but only until the next batch is full:
    # what a kill can lose stays bounded by `batch_games` (two half-batches) however slow
    # the disk is.
    room = asyncio.Event()
    room.set()
    failed = False

    async def commit(final: bool) -> None:
        nonlocal failed
        async with commit_lock:
            if failed:
                return  # a batch was lost with a failed commit: committing more would skip it
            batch = writer.take()
            room.set()
            if final:
                _finish(state, run, client.requests_made)
            else:
                state.run = run
            snapshot_state = SyncState.from_json(state.to_json())  # frozen copy for the thread
            try:
                await asyncio.to_thread(
                    zone.commit, batch.games, batch.rejects, snapshot_state, sync_id=run.id
                )
            except BaseException:
                failed = True
                raise
            progress.commits += 1
            # Collections are rare during a sync (see _few_collections); one per commit frees
            # the reference cycles that HTTP responses leave, so memory stays flat.
            gc.collect()
            progress.games_written = writer.games_written
            progress.rejects = writer.rejects_written
            progress.duplicates = writer.duplicates
            if on_commit:
                on_commit(progress)

    async def emit(event: Event) -> None:
        if not run.started and isinstance(event, PagesFetched):
            # The server's clock when it answered; ours (the watermark margin absorbs skew)
            # if it sends no Date header. Set at the first page, so a run resumed later
            # still moves the watermark only to before its first page.
            at = event.server_time or datetime.now(UTC).replace(tzinfo=None)
            run.started = format_timestamp(at)
        writer.apply(event)
        progress.requests = client.requests_made
        progress.requests_left = client.requests_left
        progress.retries = client.retries
        if writer.full:
            if commit_lock.locked():
                room.clear()  # the previous batch is still being written: stop fetching
            await commit(final=False)

    async with RawgClient(
        base_url=settings.base_url,
        api_key=settings.api_key,
        page_size=settings.page_size,
        concurrency=settings.concurrency,
        max_requests=settings.max_requests,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
        backoff_base=settings.backoff_base,
        backoff_max=settings.backoff_max,
    ) as client:
        extractor = Extractor(
            client,
            emit,
            window_limit=settings.window_limit,
            scope=scope,
            stats=progress.extract,
        )
        client.gate = room.wait
        try:
            await extractor.run(windows, partial)
        except BaseException as error:
            # Keep what was fetched: commit it with the progress that resumes the rest.
            cause = _unwrap(error)
            if isinstance(cause, RawgwhError | KeyboardInterrupt | asyncio.CancelledError):
                await commit(final=False)
            if cause is error:
                raise
            raise cause from None
        await commit(final=True)
    return SyncResult(
        sync_id=run.id,
        mode=run.mode,
        resumed=resumed,
        games_added=writer.games_written,
        rejects=writer.rejects_written,
        duplicates=writer.duplicates,
        requests=client.requests_made,
        retries=client.retries,
        commits=progress.commits,
        seconds=default_timer() - started,
        watermark=state.watermark,
        raw_rows=zone.count(),
    )


def _unwrap(error: BaseException) -> BaseException:
    """The first meaningful error inside (nested) exception groups from the task group."""
    while isinstance(error, BaseExceptionGroup):
        inner: list[BaseException] = list(error.exceptions)
        preferred = [e for e in inner if isinstance(e, RawgwhError)]
        error = (preferred or inner)[0]
    return error


def _plan_run(
    state: SyncState, *, dates: tuple[date, date] | None, full: bool
) -> tuple[RunState, bool]:
    wanted_dates = [dates[0].isoformat(), dates[1].isoformat()] if dates else None
    run = state.run
    if run is not None:
        same_backfill = run.mode == "backfill" and run.dates == (wanted_dates or _all_dates())
        if (not full and not dates) or same_backfill:
            return run, True
    sync_id = _new_sync_id()
    if full or state.watermark is None or (wanted_dates and wanted_dates != state.scope):
        return (
            RunState(
                id=sync_id,
                mode="backfill",
                started="",
                dates=wanted_dates or _all_dates(),
                undated=wanted_dates is None,
            ),
            False,
        )
    upper = datetime.combine(datetime.now(UTC).date() + 2 * ONE_DAY, datetime.min.time())
    return (
        RunState(
            id=sync_id,
            mode="incremental",
            started="",
            updated=[state.watermark, format_timestamp(upper - ONE_SECOND)],
        ),
        False,
    )


def _all_dates() -> list[str]:
    return [DEFAULT_FIRST_DATE.isoformat(), DEFAULT_LAST_DATE.isoformat()]


def plan_windows(run: RunState) -> tuple[list[Window], dict[str, Partial]]:
    """The windows still to fetch for ``run``: unfinished ones first, then the gaps."""
    partial: dict[str, Partial] = {}
    windows: list[Window] = []
    for key, progress in run.windows.items():
        window = window_from_key(key)
        windows.append(window)
        partial[key] = Partial(
            count=progress.count,
            pages_done=set(progress.pages),
            cursor=parse_timestamp(progress.cursor) if progress.cursor else None,
        )
    if run.mode == "backfill" and run.dates:
        done = Intervals(ONE_DAY, [(a, b) for a, b in run.done])
        for window in windows:
            if isinstance(window, DateWindow):
                done.add(window.start, window.end)
        start, end = (date.fromisoformat(d) for d in run.dates)
        windows += [DateWindow(a, b) for a, b in done.gaps(start, end)]
        if (
            run.undated
            and not run.undated_done
            and not any(isinstance(w, UndatedWindow) for w in windows)
        ):
            windows.append(UndatedWindow())
    elif run.mode == "incremental" and run.updated:
        done = Intervals(ONE_SECOND, [(a, b) for a, b in run.done])
        for window in windows:
            if isinstance(window, UpdatedWindow):
                done.add(window.start, window.end)
        start_ts, end_ts = (parse_timestamp(t) for t in run.updated)
        windows += [UpdatedWindow(a, b) for a, b in done.gaps(start_ts, end_ts)]
    return windows, partial


def _finish(state: SyncState, run: RunState, requests: int) -> None:
    """The run is complete: move the watermark and forget the run's progress."""
    if run.mode == "backfill":
        started = parse_timestamp(run.started) if run.started else datetime.now(UTC)
        state.watermark = format_timestamp(started.replace(tzinfo=None) - WATERMARK_MARGIN)
        state.scope = None if run.undated else run.dates
    elif run.max_updated and (state.watermark is None or run.max_updated > state.watermark):
        state.watermark = run.max_updated
    state.run = None
    state.last = LastSync(
        id=run.id,
        mode=run.mode,
        finished=format_timestamp(datetime.now(UTC).replace(tzinfo=None)),
        games=run.games,
        rejects=run.rejects,
        requests=requests,
    )


def _new_sync_id() -> str:
    now = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{now}-{uuid.uuid4().hex[:8]}"
