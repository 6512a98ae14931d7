"""``rawgwh build`` (model the raw zone and publish the star) and ``rawgwh validate``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from rawgwh.cli.app import (
    Branch,
    CatalogUri,
    Config,
    Debug,
    Profile,
    Quiet,
    Ref,
    Warehouse,
    settings_from,
)

if TYPE_CHECKING:
    from rawgwh.warehouse.publish import PublishResult
    from rawgwh.warehouse.validate import CheckResult


def register(app: typer.Typer) -> None:
    app.command("build")(build_command)
    app.command("validate")(validate_command)


def build_command(
    warehouse: Warehouse = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full/--incremental",
            help="Rebuild every game from the raw zone (default), or only the games with "
            "raw versions committed since the last publish.",
        ),
    ] = True,
    branch: Branch = None,
    profile: Profile = None,
    catalog_uri: CatalogUri = None,
    config: Config = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Model the raw zone into the star schema, check it, and publish it."""
    from rawgwh.warehouse.catalog import Warehouse as Store
    from rawgwh.warehouse.publish import changed_since_publish, publish

    settings = settings_from(
        config, warehouse=warehouse, branch=branch, profile=profile, catalog_uri=catalog_uri
    )
    Store.open(settings)  # fails clearly when there is no warehouse yet
    with Store.for_writing(settings) as store:
        changed = None if full else changed_since_publish(store)
        result = publish(store, sync_id=_build_id(), changed_ids=changed)
    if not quiet:
        _summary(result)


def validate_command(
    warehouse: Warehouse = None,
    ref: Ref = None,
    profile: Profile = None,
    catalog_uri: CatalogUri = None,
    config: Config = None,
    debug: Debug = False,
) -> None:
    """Run the data checks on the published star; exit 1 if any fails."""
    from rawgwh.warehouse.catalog import Warehouse as Store
    from rawgwh.warehouse.publish import check_published

    settings = settings_from(config, warehouse=warehouse, profile=profile, catalog_uri=catalog_uri)
    results = check_published(Store.open(settings, ref=ref))
    _checks_table(results)
    if not all(r.passed for r in results):
        raise typer.Exit(1)


def _build_id() -> str:
    import uuid
    from datetime import UTC, datetime

    return f"build-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def _summary(result: PublishResult) -> None:
    from rich.console import Console

    stages = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    Console().print(
        f"published {result.sync_id} ({result.mode}): {result.games_total:,} games, "
        f"{result.games_built:,} rebuilt, {result.games_deleted:,} removed, "
        f"{result.files_written:,} files written in {result.seconds:.1f}s ({stages})",
        highlight=False,
    )


def _checks_table(results: list[CheckResult]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="star schema checks", title_justify="left")
    for column in ("check", "result", "failing rows", "examples"):
        table.add_column(column, justify="right" if column == "failing rows" else "left")
    for r in results:
        table.add_row(
            Text(r.name),
            Text("pass", style="green") if r.passed else Text("FAIL", style="bold red"),
            f"{r.failing_rows:,}",
            Text("\n".join(r.examples[:3])),
        )
    console = Console()
    console.print(table)
    failed = sum(not r.passed for r in results)
    console.print(f"{len(results) - failed} passed, {failed} failed", highlight=False)
