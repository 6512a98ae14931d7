"""The query stage: read-only DuckDB SQL over the warehouse's Parquet files.

:class:`QueryEngine` defines one view per table over one snapshot's data files and locks
DuckDB down to reading them; :func:`render` prints a result for people or scripts;
:func:`run_shell` is an interactive prompt; :data:`EXAMPLES` are named queries.

Names are imported on first use, so ``rawgwh query`` loads only the modules it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_MODULES = {
    "QueryEngine": "engine",
    "quote_identifier": "engine",
    "EXAMPLES": "examples",
    "Example": "examples",
    "example": "examples",
    "FORMATS": "output",
    "OutputFormat": "output",
    "print_table": "output",
    "render": "output",
    "write_csv": "output",
    "write_json": "output",
    "write_parquet": "output",
    "READ_PRAGMAS": "sandbox",
    "check_read_only": "sandbox",
    "run_shell": "shell",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
