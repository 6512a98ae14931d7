"""``rawgwh doctor``: one row per configured part, with a fix for each failure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from rawgwh.cli.app import (
    ApiKey,
    BaseUrl,
    Branch,
    CatalogUri,
    Config,
    Debug,
    Profile,
    Warehouse,
    settings_from,
)

if TYPE_CHECKING:
    from rawgwh.doctor import Check

_STYLES = {"OK": "bold green", "FAIL": "bold red", "SKIP": "yellow"}


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)


def doctor_command(
    warehouse: Warehouse = None,
    config: Config = None,
    profile: Profile = None,
    catalog_uri: CatalogUri = None,
    api_key: ApiKey = None,
    base_url: BaseUrl = None,
    branch: Branch = None,
    skip_rawg: Annotated[
        bool, typer.Option("--skip-rawg", help="Do not call RAWG (offline, or to save quota).")
    ] = False,
    debug: Debug = False,
) -> None:
    """Check RAWG, storage, catalog, Nessie branch and Dremio; exit 1 if a required one fails."""
    from rawgwh.doctor import failed, run_checks

    settings = settings_from(
        config,
        warehouse=warehouse,
        profile=profile,
        catalog_uri=catalog_uri,
        api_key=api_key,
        base_url=base_url,
        branch=branch,
    )
    checks = run_checks(settings, skip_rawg=skip_rawg)
    _render(checks, settings.profile)
    if failed(checks):
        raise typer.Exit(1)


def _render(checks: list[Check], profile: str | None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from rawgwh.doctor import failed
    from rawgwh.secrets import redact

    title = "rawgwh doctor" + (f" (profile {profile})" if profile else "")
    table = Table(title=title, title_justify="left")
    for column in ("part", "target", "status", "detail", "fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        table.add_row(
            check.part,
            Text(redact(check.target)),
            Text(check.status, style=_STYLES[check.status]),
            Text(redact(check.detail)),
            Text(redact(check.hint) if check.ok is False else ""),
        )
    console = Console()
    console.print(table)
    bad = failed(checks)
    if bad:
        names = ", ".join(c.part for c in bad)
        console.print(Text(f"{len(bad)} required part(s) failed: {names}", style="bold red"))
    else:
        console.print(Text("all configured parts OK", style="bold green"))
