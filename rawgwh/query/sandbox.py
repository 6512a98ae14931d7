"""What SQL may do: one read-only statement, over nothing but the warehouse's files.

Two layers, because DuckDB's own sandbox limits *where* files are touched, not *how*:
``allowed_directories`` lets a statement write inside the warehouse as freely as read it
(``COPY ... TO``, ``ATTACH``, ``EXPORT DATABASE`` all succeed there). So

1. :func:`check_read_only` admits only statements that cannot write: queries (``SELECT``,
   ``WITH``, ``FROM``, ``VALUES``, ``DESCRIBE``, ``SHOW``, ``SUMMARIZE``), ``EXPLAIN [ANALYZE]``
   of such a query, and a few catalog ``PRAGMA``s; and
2. :func:`lock_down` confines file access to the warehouse, turns off extension loading,
   Python-variable scans and spilling, and locks the configuration so SQL cannot undo it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import duckdb

from rawgwh.errors import QueryError

__all__ = ["READ_PRAGMAS", "check_read_only", "lock_down", "one_line", "sql_string"]

#: PRAGMAs that only describe the catalog. Others can import a database or change settings.
READ_PRAGMAS = frozenset(
    {"table_info", "show", "show_tables", "show_tables_expanded", "version", "functions"}
)

_ALLOWED = "SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN or PRAGMA table_info"
_LEADING_NOISE = r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*"
# EXPLAIN [ANALYZE] [(options)] <statement>: EXPLAIN ANALYZE runs the inner statement.
_EXPLAIN = re.compile(
    _LEADING_NOISE + r"explain\b\s*(?:analyze\b\s*)?(?:\([^()]*\)\s*)?", re.I | re.S
)
_PRAGMA = re.compile(_LEADING_NOISE + r"pragma\s+(\w+)\s*(\(|;|$)", re.I | re.S)


def one_line(error: BaseException) -> str:
    """DuckDB's message without the caret diagram and hints that follow its first line."""
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__


def _statements(con: duckdb.DuckDBPyConnection, sql: str) -> list[duckdb.Statement]:
    try:
        return list(con.extract_statements(sql))
    except duckdb.Error as e:
        raise QueryError(one_line(e)) from None


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """Return ``sql`` if it is exactly one read-only statement, else raise :class:`QueryError`."""
    statements = _statements(con, sql)
    if not statements:
        raise QueryError("empty query: give one SQL statement")
    if len(statements) > 1:
        raise QueryError(f"one statement at a time, got {len(statements)}")
    statement = statements[0]
    kind = statement.type
    if kind == duckdb.StatementType.SELECT:
        return sql
    if kind == duckdb.StatementType.EXPLAIN:
        match = _EXPLAIN.match(statement.query)
        inner = _statements(con, statement.query[match.end() :]) if match else []
        if len(inner) == 1 and inner[0].type == duckdb.StatementType.SELECT:
            return sql
        raise QueryError("EXPLAIN is allowed only for a query (SELECT ...)")
    if kind == duckdb.StatementType.PRAGMA:
        pragma = _PRAGMA.match(statement.query)
        if pragma and pragma.group(1).lower() in READ_PRAGMAS:
            return sql
    name = kind.name if kind is not None else "unknown"
    raise QueryError(f"read-only: {name} statements are not allowed; use {_ALLOWED}")


def _sql_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(sql_string(v) for v in values) + "]"


def sql_string(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def lock_down(
    con: duckdb.DuckDBPyConnection, *, directories: Iterable[str], paths: Iterable[str]
) -> None:
    """Confine ``con`` to reading ``directories`` and ``paths``; irreversible for ``con``."""
    settings = [
        # Otherwise `FROM some_name` scans any DataFrame/Arrow variable in the caller's frames.
        "SET python_enable_replacements = false",
        # The spill directory would be readable and writable; the data here fits in memory.
        "SET temp_directory = ''",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        "SET allow_community_extensions = false",
        "SET allow_persistent_secrets = false",
        f"SET allowed_directories = {_sql_list(directories)}",
        f"SET allowed_paths = {_sql_list(paths)}",
        # Must come after the allow-lists: once off, they can no longer be changed.
        "SET enable_external_access = false",
        "SET lock_configuration = true",
    ]
    for setting in settings:
        con.execute(setting)
