"""``rawgwh status``: tables, row counts, snapshots, watermark, last sync; or the publishes."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer

from rawgwh.cli.app import CatalogUri, Config, Debug, Profile, Warehouse, settings_from


def register(app: typer.Typer) -> None:
    app.command("status")(status_command)


def status_command(
    warehouse: Warehouse = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="table (for people) or json (for scripts)")
    ] = "table",
    history: Annotated[
        bool,
        typer.Option(
            "--history",
            help="List the publishes instead, newest first, with the snapshot id "
            "`rawgwh query --as-of` takes.",
        ),
    ] = False,
    profile: Profile = None,
    catalog_uri: CatalogUri = None,
    config: Config = None,
    debug: Debug = False,
) -> None:
    """Show what the warehouse holds and how the last sync went."""
    from rich.console import Console

    from rawgwh.errors import ConfigError
    from rawgwh.warehouse.inspect import warehouse_status

    if output_format not in ("table", "json"):
        raise ConfigError(f"--format must be table or json, got {output_format!r}")
    settings = settings_from(config, warehouse=warehouse, profile=profile, catalog_uri=catalog_uri)
    if history:
        _history(settings, output_format)
        return
    status = warehouse_status(settings)
    if output_format == "json":
        typer.echo(json.dumps(asdict(status), indent=2, default=str))
        return
    console = Console()
    table = _table(f"warehouse {status.location} (times in UTC)")
    # Names are never cut: at 80 columns (or piped) the other columns wrap instead.
    longest = max((len(t.name) for t in status.tables), default=5)
    table.add_column("table", no_wrap=True, min_width=longest)
    for column in ("rows", "files", "size", "snapshots"):
        table.add_column(column, justify="right")
    table.add_column("last commit", justify="right", min_width=len("2026-11-26"))
    for t in status.tables:
        table.add_row(
            t.name,
            f"{t.rows:,}",
            f"{t.files:,}",
            _size(t.bytes),
            f"{t.snapshots:,}",
            _time(t.last_commit),
        )
    console.print(table)
    state = status.state
    console.print(f"watermark: {state.watermark or '- (no complete sync yet)'}")
    if state.last:
        last = state.last
        console.print(
            f"last sync: {last.id} ({last.mode}) finished {last.finished}: "
            f"{last.games:,} games, {last.rejects:,} rejected, {last.requests:,} requests"
        )
    if state.run:
        run = state.run
        console.print(
            f"unfinished {run.mode} {run.id}: {run.games:,} games so far, "
            f"{len(run.windows)} window(s) in progress; `rawgwh sync` resumes it"
        )


def _history(settings: Any, output_format: str) -> None:
    from rich.console import Console

    from rawgwh.warehouse.inspect import publish_history

    publishes = publish_history(settings)
    if output_format == "json":
        typer.echo(json.dumps([asdict(p) for p in publishes], indent=2))
        return
    console = Console()
    if not publishes:
        console.print("nothing published yet: run `rawgwh build` (or `rawgwh sync`)")
        return
    table = _table("publishes, newest first (times in UTC; `rawgwh query --as-of SNAPSHOT_ID`)")
    table.add_column("published", min_width=len("2026-11-26"))
    table.add_column("sync id", no_wrap=True)
    table.add_column("mode")
    table.add_column("games", justify="right")
    table.add_column("snapshot id", justify="right", no_wrap=True)
    for p in publishes:
        table.add_row(
            _time(p.committed), p.sync_id or "-", p.mode or "-", f"{p.games:,}", str(p.snapshot_id)
        )
    console.print(table)


def _table(title: str) -> Any:
    """A table light enough for 80 columns: a rule under the header, no side borders."""
    from rich import box
    from rich.table import Table

    # No padding: the box's blank column separates the columns.
    return Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 0)
    )


def _time(iso: str | None) -> str:
    """``2026-11-26T04:13:05+00:00`` as ``2026-11-26 04:13:05`` (the header says UTC)."""
    return iso.removesuffix("+00:00").replace("T", " ") if iso else "-"


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} B"
