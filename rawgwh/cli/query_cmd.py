"""``rawgwh query``: read-only SQL over the published star and the raw zone."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rawgwh.cli.app import CatalogUri, Config, Debug, Profile, Ref, Warehouse, settings_from


def register(app: typer.Typer) -> None:
    app.command("query")(query_command)


def query_command(
    sql: Annotated[
        str | None, typer.Argument(help="One read-only SQL statement; none opens a shell.")
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="table, csv, json or parquet (needs --output)")
    ] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the result to this file.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Read an earlier state: a snapshot id or a timestamp (UTC)."),
    ] = None,
    example_name: Annotated[
        str | None, typer.Option("--example", "-e", help="Run a named example query.")
    ] = None,
    list_examples: Annotated[
        bool, typer.Option("--list-examples", help="List the example queries and exit.")
    ] = False,
    ref: Ref = None,
    warehouse: Warehouse = None,
    profile: Profile = None,
    catalog_uri: CatalogUri = None,
    config: Config = None,
    debug: Debug = False,
) -> None:
    """Query the warehouse with DuckDB SQL (tables: fact_games, dim_*, bridge_*, raw_*)."""
    from rich.console import Console

    from rawgwh.errors import ConfigError
    from rawgwh.query.examples import EXAMPLES
    from rawgwh.query.output import FORMATS, render

    console = Console()
    if list_examples:
        import pyarrow as pa

        listing = pa.table(
            {
                "name": list(EXAMPLES),
                "description": [e.description for e in EXAMPLES.values()],
            }
        )
        render(listing, output_format, output=output, console=console, max_rows=len(EXAMPLES))
        return
    if output_format not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {output_format!r}")
    if sql is not None and example_name is not None:
        raise ConfigError("give either SQL or --example, not both")
    if example_name is not None:
        if example_name not in EXAMPLES:
            raise ConfigError(
                f"no example named {example_name!r}; choose one of {', '.join(EXAMPLES)}"
            )
        sql = EXAMPLES[example_name].sql
    if sql is None and (output is not None or output_format != "table"):
        raise typer.BadParameter(
            "they apply to one query: give SQL or --example (the shell prints tables)",
            param_hint="--format/--output",
        )

    from rawgwh.query.warehouse import open_warehouse_engine

    settings = settings_from(config, warehouse=warehouse, profile=profile, catalog_uri=catalog_uri)
    with open_warehouse_engine(settings, as_of=as_of, ref=ref) as engine:
        if sql is None:
            from rawgwh.query.shell import run_shell

            run_shell(engine, console)
            return
        render(engine.query(sql), output_format, output=output, console=console)
