"""A minimal interactive SQL shell over a :class:`QueryEngine`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pyarrow as pa
from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from rawgwh.errors import QueryError
from rawgwh.query.engine import QueryEngine
from rawgwh.query.examples import EXAMPLES, example
from rawgwh.query.output import DEFAULT_MAX_ROWS, print_table

__all__ = ["HELP", "run_shell"]

PROMPT = "rawgwh> "
CONTINUE = "   ...> "
HELP = """\
End SQL statements with ';' (they may span lines). Only reads are allowed.
  .tables          list the tables
  .schema NAME     columns and types of a table
  .examples        list the example queries
  .example NAME    run an example query
  .help            this text
  .quit            leave (or Ctrl-D)"""


def _error(console: Console, message: str) -> None:
    console.print(Text.assemble(("error: ", "bold red"), message))


class _Shell:
    def __init__(self, engine: QueryEngine, console: Console, max_rows: int) -> None:
        self.engine = engine
        self.console = console
        self.max_rows = max_rows

    def run_sql(self, sql: str) -> None:
        print_table(self.engine.query(sql), self.console, max_rows=self.max_rows)

    def command(self, line: str) -> bool:
        """Run a dot command; False means quit."""
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in (".quit", ".exit", ".q"):
            return False
        if name == ".help":
            self.console.print(Text(HELP))
        elif name == ".tables":
            names = self.engine.tables
            self.console.print(Text("\n".join(names) if names else "(no tables)"))
        elif name == ".schema" and arg:
            print_table(self.engine.describe(arg), self.console, max_rows=10_000)
        elif name == ".examples":
            listing = pa.table(
                {
                    "name": [e.name for e in EXAMPLES.values()],
                    "description": [e.description for e in EXAMPLES.values()],
                }
            )
            print_table(listing, self.console, max_rows=len(EXAMPLES))
        elif name == ".example" and arg:
            chosen = example(arg)
            self.console.print(Syntax(chosen.sql, "sql", theme="ansi_dark"))
            self.run_sql(chosen.sql)
        else:
            raise QueryError(f"unknown command {line!r}; .help lists the commands")
        return True


def run_shell(
    engine: QueryEngine,
    console: Console,
    *,
    read_line: Callable[[str], str] = input,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> None:
    """Read statements until ``.quit`` or end of input, printing results as tables.

    Errors are printed on one line and the shell carries on; Ctrl-C drops the statement
    being typed.
    """
    if read_line is input:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (importing it gives input() history and editing)
    shell = _Shell(engine, console, max_rows)
    console.print(Text(f"{len(engine.tables)} tables; .help for commands, .quit to leave"))
    buffer: list[str] = []
    while True:
        try:
            line = read_line(CONTINUE if buffer else PROMPT)
        except EOFError:
            console.print()
            return
        except KeyboardInterrupt:
            console.print()
            buffer.clear()
            continue
        stripped = line.strip()
        try:
            if not buffer and stripped.startswith("."):
                if not shell.command(stripped):
                    return
                continue
            if not stripped and not buffer:
                continue
            buffer.append(line)
            if stripped.endswith(";"):
                sql = "\n".join(buffer)
                buffer.clear()
                shell.run_sql(sql)
        except QueryError as e:
            _error(console, str(e))
        except KeyboardInterrupt:
            buffer.clear()
            _error(console, "interrupted")
