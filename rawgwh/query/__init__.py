"""The query stage: read-only DuckDB SQL over the warehouse's Parquet files.

:class:`QueryEngine` defines one view per table over one snapshot's data files and locks
DuckDB down to reading them; :func:`render` prints a result for people or scripts;
:func:`run_shell` is an interactive prompt; :data:`EXAMPLES` are named queries.
"""

from __future__ import annotations

from rawgwh.query.engine import QueryEngine, quote_identifier
from rawgwh.query.examples import EXAMPLES, Example, example
from rawgwh.query.output import (
    FORMATS,
    OutputFormat,
    print_table,
    render,
    write_csv,
    write_json,
    write_parquet,
)
from rawgwh.query.sandbox import READ_PRAGMAS, check_read_only
from rawgwh.query.shell import run_shell

__all__ = [
    "EXAMPLES",
    "FORMATS",
    "READ_PRAGMAS",
    "Example",
    "OutputFormat",
    "QueryEngine",
    "check_read_only",
    "example",
    "print_table",
    "quote_identifier",
    "render",
    "run_shell",
    "write_csv",
    "write_json",
    "write_parquet",
]
