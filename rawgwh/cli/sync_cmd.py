"""``rawgwh sync``: fetch what changed upstream, with live progress and a summary."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rawgwh.cli.app import (
    ApiKey,
    BaseUrl,
    Branch,
    CatalogUri,
    Config,
    Debug,
    Profile,
    Quiet,
    Warehouse,
    settings_from,
)

if TYPE_CHECKING:
    from rawgwh.sync import SyncProgress, SyncResult

DEMO_GAMES = 10_000


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_command)


def sync_command(
    warehouse: Warehouse = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
    dates: Annotated[
        str | None,
        typer.Option(
            "--dates", help="Backfill only games released FROM,TO (YYYY-MM-DD,YYYY-MM-DD)"
        ),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Ignore the watermark: fetch everything again.")
    ] = False,
    max_requests: Annotated[
        int | None,
        typer.Option("--max-requests", help="Stop after this many requests (resume later)."),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", help="Requests in flight at once [8].")
    ] = None,
    raw_only: Annotated[
        bool,
        typer.Option(
            "--raw-only", help="Only fetch into the raw zone; model later with `rawgwh build`."
        ),
    ] = False,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Sync from a built-in RAWG simulator: no key, no network."),
    ] = False,
    demo_games: Annotated[
        int, typer.Option("--demo-games", help="Games in the demo catalogue.")
    ] = DEMO_GAMES,
    demo_file: Annotated[
        Path | None,
        typer.Option("--demo-file", help="Serve these records (.jsonl.gz) in the demo."),
    ] = None,
    branch: Branch = None,
    profile: Profile = None,
    catalog_uri: CatalogUri = None,
    config: Config = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Fetch new and changed games from RAWG into the warehouse (resumable)."""
    from rawgwh.errors import ConfigError
    from rawgwh.source.windows import parse_dates
    from rawgwh.sync import SyncProgress, sync

    try:
        window = parse_dates(dates) if dates is not None else None
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if demo_games < 1:
        raise ConfigError("--demo-games must be at least 1")
    flags: dict[str, Any] = {
        "warehouse": warehouse,
        "api_key": api_key,
        "base_url": base_url,
        "max_requests": max_requests,
        "concurrency": concurrency,
        "branch": branch,
        "profile": profile,
        "catalog_uri": catalog_uri,
    }
    settings = settings_from(config, **flags)
    progress = SyncProgress()
    with _demo_server(demo, demo_games, demo_file) as demo_url:
        if demo_url:
            settings = settings.with_(base_url=demo_url, api_key=None)
        with _live(progress, quiet):
            result = sync(
                settings, dates=window, full=full, progress=progress, publish=not raw_only
            )
    if not quiet:
        _summary(result)


def _demo_server(demo: bool, games: int, path: Path | None) -> Any:
    if not demo:
        return nullcontext(None)
    from rawgwh.errors import ConfigError
    from rawgwh.source.simulator import Simulator

    if path is not None:
        if not path.exists():
            raise ConfigError(f"--demo-file {path} does not exist")
        try:
            simulator = Simulator.from_file(path)
        except ValueError as e:  # not records the simulator can serve
            raise ConfigError(f"--demo-file {e}") from None
    else:
        simulator = Simulator.synthetic(n_games=games, seed=42)
    return simulator.serve(port=0)


def _live(progress: SyncProgress, quiet: bool) -> Any:
    if quiet:
        return nullcontext()
    from rich.console import Console
    from rich.live import Live

    from rawgwh.cli.render import progress_panel

    console = Console(stderr=True)
    return Live(
        get_renderable=lambda: progress_panel(progress),
        console=console,
        refresh_per_second=8,
        transient=True,
    )


def _summary(result: SyncResult) -> None:
    from rich.console import Console

    from rawgwh.cli.render import sync_summary

    Console().print(sync_summary(result))
