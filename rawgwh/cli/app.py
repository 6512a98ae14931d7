"""Typer application, commands and the single place errors become exit codes."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from rawgwh.errors import RawgwhError
from rawgwh.secrets import install_log_redaction, redact

__all__ = ["app", "main"]


class _Interrupted(Exception):
    """Ctrl-C in a command, carried past Typer, which would turn it into a silent exit 130."""


class _Group(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as e:
            raise _Interrupted from e


app = typer.Typer(
    cls=_Group,
    name="rawgwh",
    help="A local-first warehouse for RAWG video-game data (data from RAWG, rawg.io).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)

# Options shared by commands, sqlite-utils style: declared once, reused.
Warehouse = Annotated[
    str | None,
    typer.Option("--warehouse", "-w", help="Warehouse folder [env RAWGWH_WAREHOUSE; ./warehouse]"),
]
Config = Annotated[
    Path | None, typer.Option("--config", help="Config file [env RAWGWH_CONFIG; ./rawgwh.toml]")
]
Profile = Annotated[
    str | None, typer.Option("--profile", help="Config profile [env RAWGWH_PROFILE]")
]
CatalogUri = Annotated[
    str | None,
    typer.Option(
        "--catalog-uri",
        help="Iceberg REST (http://HOST:19120/iceberg) or SQL catalog URI [env RAWGWH_CATALOG_URI]",
    ),
]
ApiKey = Annotated[str | None, typer.Option("--api-key", help="RAWG API key [env RAWG_API_KEY]")]
BaseUrl = Annotated[str | None, typer.Option("--base-url", help="API base URL [env RAWG_BASE_URL]")]
Branch = Annotated[
    str | None,
    typer.Option("--branch", help="Nessie branch a sync publishes to [env RAWGWH_BRANCH; main]"),
]
Ref = Annotated[
    str | None,
    typer.Option("--ref", help="Read this Nessie branch (or BRANCH@HASH) instead of --branch."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks for unexpected errors.")]


def settings_from(config: Path | None, **flags: Any) -> Any:
    from rawgwh.settings import load_settings

    return load_settings(flags, config_path=config)


@app.callback()
def _root(debug: Debug = False) -> None:
    """rawgwh: sync RAWG into Iceberg, query it with DuckDB."""


def _register() -> None:
    # Command modules import only typer at import time, so `rawgwh --help` stays fast.
    from rawgwh.cli import build_cmd, doctor_cmd, query_cmd, simulate_cmd, status_cmd, sync_cmd

    for module in (sync_cmd, status_cmd, simulate_cmd, build_cmd, query_cmd, doctor_cmd):
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; one line and exit 1 for problems the user can fix."""
    try:
        _main(list(sys.argv[1:] if argv is None else argv))
    finally:
        if argv is None:
            # The process exits next: its final collection would walk every object the
            # imports made (0.3 s after a sync) to free memory the OS takes back anyway.
            gc.freeze()


def _main(args: list[str]) -> None:
    install_log_redaction()
    debug = "--debug" in args
    if not args:  # bare `rawgwh`: the help (no_args_is_help makes it an error, squashed in a line)
        args = ["--help"]
    try:
        code = app(args=args, prog_name="rawgwh", standalone_mode=False)
    except RawgwhError as e:
        _fail(f"Error: {e}", 1, debug)
    except (typer.Abort, KeyboardInterrupt, _Interrupted):
        _fail(
            "Interrupted: what was committed is kept; run the same command to resume.", 130, debug
        )
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except TyperException as e:  # Typer's own usage errors: bad flags and values
        ctx = getattr(e, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        message = e.format_message() if hasattr(e, "format_message") else str(e)
        _fail(f"Error: {message}{hint}", int(getattr(e, "exit_code", 2)), debug)
    except SystemExit:
        raise
    except Exception as e:  # a bug: say so in one line unless --debug
        _fail(
            f"Error: unexpected {type(e).__name__}: {e} (run again with --debug for details)",
            1,
            debug,
        )
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int, debug: bool) -> None:
    if debug:
        import traceback

        sys.stderr.write(redact(traceback.format_exc()))
    sys.stderr.write(redact(" ".join(message.split()) or "Error") + "\n")
    sys.exit(code)
