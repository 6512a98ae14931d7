"""Query results for people (a Rich table) and for scripts (CSV, JSON, Parquet).

Every renderer takes a pyarrow Table; none knows about DuckDB. ``render`` picks one by
name and sends it to stdout or a file.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Literal, get_args

import orjson
import pyarrow as pa
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rawgwh.errors import ConfigError

__all__ = [
    "FORMATS",
    "OutputFormat",
    "print_table",
    "render",
    "write_csv",
    "write_json",
    "write_parquet",
]

OutputFormat = Literal["table", "csv", "json", "parquet"]
FORMATS: tuple[str, ...] = get_args(OutputFormat)
DEFAULT_MAX_ROWS = 40


def _rows(result: pa.Table) -> Iterator[tuple[Any, ...]]:
    # Tuples, not dicts: SQL results may repeat a column name (`SELECT 1 AS a, 2 AS a`).
    for batch in result.to_batches():
        yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)


def _json_default(value: object) -> object:
    # What orjson cannot encode by itself: DuckDB sums are HUGEINT, i.e. Arrow decimals.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _json(value: object) -> bytes:
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS)


def _text(value: object) -> str:
    """One value as CSV or table text: ISO dates, JSON for nested values, '' for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | dict | tuple):
        return _json(value).decode()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def write_csv(result: pa.Table, out: IO[str]) -> None:
    """CSV with a header row; nulls are empty, dates ISO, lists and structs JSON."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.column_names)
    for row in _rows(result):
        writer.writerow([_text(v) for v in row])


def write_json(result: pa.Table, out: IO[str]) -> None:
    """A JSON array of objects, one per row, dates and timestamps ISO 8601.

    A repeated column name keeps its last value, as JSON objects have unique keys.
    """
    names = result.column_names
    out.write("[")
    for i, row in enumerate(_rows(result)):
        out.write(",\n" if i else "\n")
        out.write(_json(dict(zip(names, row, strict=True))).decode())
    out.write("\n]\n" if result.num_rows else "]\n")


def write_parquet(result: pa.Table, path: Path) -> None:
    """A Parquet file with the result's Arrow schema."""
    import pyarrow.parquet as pq

    pq.write_table(result, path)


def _cell(value: object) -> Text:
    if value is None:
        return Text("NULL", style="dim")
    if isinstance(value, float):
        return Text(repr(round(value, 6)))
    # Text, not a str: game names like "[PROTOTYPE]" must not be read as Rich markup.
    return Text(_text(value))


def print_table(result: pa.Table, console: Console, *, max_rows: int = DEFAULT_MAX_ROWS) -> None:
    """A Rich table of the first ``max_rows`` rows, saying how many were left out."""
    table = Table(show_lines=False, header_style="bold")
    for field in result.schema:
        numeric = pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
        numeric = numeric or pa.types.is_decimal(field.type)
        table.add_column(field.name, justify="right" if numeric else "left", overflow="fold")
    shown = result.slice(0, max_rows)
    for row in _rows(shown):
        table.add_row(*[_cell(v) for v in row])
    console.print(table)
    total = result.num_rows
    if total > shown.num_rows:
        note = f"showing the first {shown.num_rows:,} of {total:,} rows; csv, json or parquet "
        console.print(Text(note + "output has them all", style="dim"))
    else:
        console.print(Text(f"{total:,} row{'' if total == 1 else 's'}", style="dim"))


_TEXT_WRITERS: dict[str, Callable[[pa.Table, IO[str]], None]] = {
    "csv": write_csv,
    "json": write_json,
}


def _open_text(path: Path) -> IO[str]:
    try:
        return path.open("w", encoding="utf-8", newline="")
    except OSError as e:
        raise ConfigError(f"cannot write {path}: {e.strerror or e}") from None


def render(
    result: pa.Table,
    fmt: str = "table",
    *,
    output: Path | None = None,
    console: Console | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> None:
    """Write ``result`` as ``fmt`` to ``output``, or to ``console``'s stream (stdout)."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    console = console or Console()
    if fmt == "parquet":
        if output is None:
            raise ConfigError("parquet output needs a file: pass --output FILE")
        try:
            write_parquet(result, output)
        except OSError as e:
            raise ConfigError(f"cannot write {output}: {e}") from None
        return
    if fmt == "table":
        if output is None:
            print_table(result, console, max_rows=max_rows)
            return
        with _open_text(output) as f:
            # A file gets every row, without colour, wide enough not to wrap.
            plain = Console(file=f, width=10_000, color_system=None, soft_wrap=True)
            print_table(result, plain, max_rows=max(result.num_rows, 1))
        return
    write = _TEXT_WRITERS[fmt]
    if output is None:
        write(result, console.file)
        return
    with _open_text(output) as f:
        write(result, f)
