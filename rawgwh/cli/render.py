"""Rich renderings for people. Scripts get CSV/JSON from the commands that offer them."""

from __future__ import annotations

from timeit import default_timer
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rawgwh.sync import SyncProgress, SyncResult


def _eta(done: int, total: int, elapsed: float) -> str:
    if done <= 0 or total <= done or elapsed <= 0:
        return "-"
    seconds = (total - done) * elapsed / done
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_panel(progress: SyncProgress) -> Any:
    extract = progress.extract
    elapsed = default_timer() - progress.started
    rate = extract.games_fetched / elapsed if elapsed > 0 else 0.0
    left = "unlimited" if progress.requests_left is None else f"{progress.requests_left:,}"
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan")
    grid.add_column()
    grid.add_row("sync", progress.mode or "planning")
    grid.add_row("windows", f"{extract.windows_done:,} done of {extract.windows_seen:,}")
    expected = max(extract.games_expected, extract.games_fetched)
    grid.add_row("pages", f"{extract.pages_fetched:,} fetched")
    grid.add_row(
        "games",
        f"{extract.games_fetched:,} of ~{expected:,} fetched, "
        f"{progress.games_written:,} committed ({rate:,.0f}/s)",
    )
    grid.add_row(
        "requests", f"{progress.requests:,} made, {left} left, {progress.retries:,} retried"
    )
    grid.add_row("eta", _eta(extract.games_fetched, expected, elapsed))
    return grid


def sync_summary(result: SyncResult) -> Table:
    table = Table(title="rawgwh sync", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    rate = result.games_added / result.seconds if result.seconds > 0 else 0.0
    rows = [
        ("mode", result.mode + (" (resumed)" if result.resumed else "")),
        ("games added", f"{result.games_added:,}"),
        ("already had", f"{result.duplicates:,}"),
        ("rejected", f"{result.rejects:,}"),
        ("requests", f"{result.requests:,} ({result.retries:,} retries)"),
        ("commits", f"{result.commits:,}"),
        ("time", f"{result.seconds:.1f} s ({rate:,.0f} games/s)"),
        ("raw versions", f"{result.raw_rows:,}"),
        ("watermark", result.watermark or "-"),
        (
            "star schema",
            f"{result.published.games_total:,} games, {result.published.games_built:,} rebuilt "
            f"({result.published.mode}, {result.published.seconds:.1f} s)"
            if result.published
            else ("unchanged" if result.publish_requested else "not built (--raw-only)"),
        ),
        ("sync id", result.sync_id),
    ]
    for name, value in rows:
        table.add_row(name, Text(value))
    return table
