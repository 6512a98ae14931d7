"""A sandboxed, read-only DuckDB over the Parquet files of one warehouse snapshot."""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping, Sequence
from types import TracebackType
from urllib.parse import urlsplit
from urllib.request import url2pathname

import duckdb
import pyarrow as pa

from rawgwh.errors import QueryError
from rawgwh.query.sandbox import check_read_only, lock_down, one_line, sql_string
from rawgwh.warehouse.storage import is_remote

__all__ = ["CACHE_BYTES", "CACHE_TABLE_BYTES", "QueryEngine", "quote_identifier"]

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_MISSING_TABLE = re.compile(r"Table with name (\S+) does not exist", re.I)
_INTERRUPTED = "Query interrupted"


def quote_identifier(name: str) -> str:
    """A SQL identifier, quoted so any table or column name is safe."""
    return '"' + name.replace('"', '""') + '"'


def _local(location: str) -> str:
    """A plain absolute path for local files (DuckDB's allow-lists compare strings)."""
    parts = urlsplit(location)
    if parts.scheme == "file":
        return os.path.abspath(url2pathname(parts.path))
    if len(parts.scheme) > 1:  # s3://, https://...; one letter is a Windows drive
        return location
    return os.path.abspath(location)


#: A table whose Parquet files total at most this many bytes is loaded into memory
#: by the second query that reads it (it takes a few times that in memory) ...
CACHE_TABLE_BYTES = 16 * 2**20
#: ... while the tables loaded so far total at most this many bytes of Parquet.
CACHE_BYTES = 64 * 2**20
_CACHE_SCHEMA = "rawgwh_cache"


class QueryEngine:
    """Ad-hoc SQL over the warehouse: one view per table, nothing writable.

    ``tables`` maps each table's bare name to the Parquet data files making it up at one
    snapshot; ``schemas`` (Arrow) or ``columns`` (``(name, DuckDB type)`` pairs) give the
    columns of tables with no files yet (others are read from the files). DuckDB may read
    only those files and anything under ``allowed_roots``.

    A view reads its files on every query, which for a small table costs more than the
    query itself. So an engine that is used again (the shell, a notebook, a dashboard)
    loads a small table into memory when a second query reads it, within ``cache_bytes``
    of Parquet (0: never); a one-query engine, like ``rawgwh query "SQL"``, copies nothing.
    The files of a snapshot never change, so the copy cannot go stale. ``sizes`` gives a
    table's bytes of Parquet where known (Iceberg metadata has them): local files are
    measured otherwise, and a table on S3 without one is never loaded.
    """

    def __init__(
        self,
        tables: Mapping[str, Sequence[str]],
        *,
        schemas: Mapping[str, pa.Schema] | None = None,
        columns: Mapping[str, Sequence[tuple[str, str]]] | None = None,
        allowed_roots: Sequence[str] = (),
        storage: Mapping[str, str] | None = None,
        remote_reader: str = "arrow",
        evolved: Collection[str] | None = None,
        cache_bytes: int = CACHE_BYTES,
        sizes: Mapping[str, int] | None = None,
    ) -> None:
        schemas = schemas or {}
        columns = columns or {}
        self._storage = dict(storage or {})
        # Matching columns by name across files costs a third of a small query's time;
        # only a table whose schema changed can have files with different columns.
        self._evolved = None if evolved is None else frozenset(evolved)
        self._con = duckdb.connect(":memory:")
        self._cache_left = cache_bytes
        # Tables that may be loaded, not loaded yet: their files and bytes of Parquet (None:
        # local files, measured only when a second query reads them).
        self._cacheable: dict[str, tuple[list[str], int | None]] = {}
        self._reads: dict[str, int] = {}
        try:
            # Data files are immutable (Iceberg writes new ones): keep their footers, so a
            # query does not re-read every file's metadata to bind the views.
            self._con.execute("SET parquet_metadata_cache = true")
            files: list[str] = []
            for name, locations in sorted(tables.items()):
                paths = [_local(p) for p in locations]
                remote = any(is_remote(p) for p in paths)
                size = (sizes or {}).get(name)
                if paths and cache_bytes > 0 and (size is not None or not remote):
                    self._cacheable[name.lower()] = (paths, size)
                if remote:
                    if remote_reader == "arrow":
                        self._con.execute(self._remote_view_sql(name, paths, schemas.get(name)))
                        continue
                    self._register_fsspec()
                files.extend(paths)
                if not paths and name in columns and name not in schemas:
                    sql = self._empty_view_sql(name, columns[name])
                else:
                    sql = self._view_sql(name, paths, schemas.get(name))
                self._con.execute(sql)
            if self._cacheable:
                self._con.execute(f"CREATE SCHEMA {_CACHE_SCHEMA}")
            lock_down(self._con, directories=[_local(r) for r in allowed_roots], paths=files)
        except duckdb.Error as e:
            # Creating a view reads the files' footers: a missing or corrupt file fails here.
            self._con.close()
            raise QueryError(one_line(e)) from None
        except BaseException:
            self._con.close()
            raise
        self._tables = tuple(sorted(tables))

    def _view_sql(self, name: str, paths: list[str], schema: pa.Schema | None) -> str:
        view = f"CREATE VIEW {quote_identifier(name)} AS "
        if paths:
            # hive_partitioning off: Iceberg's partition folders (`year=2015/`) must not
            # add columns; union_by_name: files written before a column was added lack it.
            files = "[" + ", ".join(sql_string(p) for p in paths) + "]"
            by_name = self._evolved is None or name in self._evolved
            return view + (
                f"SELECT * FROM read_parquet({files}, hive_partitioning = false, "
                f"union_by_name = {str(by_name).lower()})"
            )
        if schema is None or not len(schema):
            raise QueryError(f"table {name} has no data files and no schema to describe it")
        types = self._con.from_arrow(schema.empty_table()).types
        return self._empty_view_sql(
            name, [(f, str(t)) for f, t in zip(schema.names, types, strict=True)]
        )

    def _register_fsspec(self) -> None:
        """DuckDB reading S3 itself through s3fs (the alternative to Arrow datasets)."""
        if getattr(self, "_fsspec", False):
            return
        from rawgwh.warehouse.storage import s3fs_filesystem

        self._con.register_filesystem(s3fs_filesystem(self._storage))
        self._fsspec = True

    def _remote_view_sql(self, name: str, paths: list[str], schema: pa.Schema | None) -> str:
        """A view over files on S3, read through pyarrow's S3 client as an Arrow dataset.

        DuckDB scans the dataset lazily (projections and filters pushed down); the
        connection itself never gets network access, so its lock-down holds.
        """
        import pyarrow.dataset as ds

        from rawgwh.warehouse.storage import pyarrow_filesystem, strip_scheme

        filesystem = pyarrow_filesystem(self._storage)
        dataset = ds.dataset(
            [strip_scheme(p) for p in paths],
            schema=schema,
            format="parquet",
            filesystem=filesystem,
        )
        source = f"__rawgwh_{name}"
        self._con.register(source, dataset)
        return f"CREATE VIEW {quote_identifier(name)} AS SELECT * FROM {quote_identifier(source)}"

    @staticmethod
    def _empty_view_sql(name: str, columns: Sequence[tuple[str, str]]) -> str:
        if not columns:
            raise QueryError(f"table {name} has no data files and no schema to describe it")
        select = ", ".join(
            f"CAST(NULL AS {type_}) AS {quote_identifier(field)}" for field, type_ in columns
        )
        return f"CREATE VIEW {quote_identifier(name)} AS SELECT {select} WHERE false"

    @property
    def tables(self) -> tuple[str, ...]:
        """The queryable tables' names, sorted."""
        return self._tables

    def query(self, sql: str) -> pa.Table:
        """Run one read-only statement and return its whole result."""
        check_read_only(self._con, sql)
        try:
            if self._cacheable:
                self._load_read_again(sql)
            relation = self._con.sql(sql)
            if relation is None:
                return pa.table({})
            return relation.to_arrow_table()
        except duckdb.Error as e:
            raise QueryError(self._message(e)) from None
        except RuntimeError as e:
            # DuckDB answers Ctrl-C with this, having taken Python's KeyboardInterrupt itself;
            # give it back so the shell returns to its prompt and a command stops as usual.
            if str(e) == _INTERRUPTED:
                raise KeyboardInterrupt from None
            raise

    def _load_read_again(self, sql: str) -> None:
        """Load the small tables ``sql`` reads for the second time into memory."""
        # The words of the query that name a table (DuckDB's get_table_names sees through
        # views). A column or string with a table's name only loads that table sooner.
        words = {w.lower() for w in _WORD.findall(sql)}
        for name in sorted(words & self._cacheable.keys()):
            self._reads[name] = self._reads.get(name, 0) + 1
            if self._reads[name] < 2:
                continue
            paths, size = self._cacheable.pop(name)
            if size is None:
                try:
                    size = sum(os.path.getsize(p) for p in paths)
                except OSError:
                    continue  # a file gone: the query itself says so
            if size > min(CACHE_TABLE_BYTES, self._cache_left):
                continue
            view, copy = quote_identifier(name), f"{_CACHE_SCHEMA}.{quote_identifier(name)}"
            try:
                self._con.execute(f"CREATE TABLE {copy} AS SELECT * FROM {view}")
                self._con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {copy}")
            except duckdb.Error:  # e.g. out of memory: keep reading the files
                self._con.execute(f"DROP TABLE IF EXISTS {copy}")
                continue
            self._cache_left -= size

    @property
    def cached(self) -> tuple[str, ...]:
        """The tables loaded into memory so far, sorted."""
        rows = self._con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? ORDER BY 1",
            [_CACHE_SCHEMA],
        ).fetchall()
        return tuple(r[0] for r in rows)

    def schema(self, table: str) -> pa.Schema:
        """The columns of ``table`` as Arrow types."""
        return self.query(f"SELECT * FROM {self._known(table)} LIMIT 0").schema

    def describe(self, table: str) -> pa.Table:
        """The columns of ``table`` as SQL types: ``column_name``, ``column_type``."""
        return self.query(f"SELECT column_name, column_type FROM (DESCRIBE {self._known(table)})")

    def _known(self, table: str) -> str:
        if table not in self._tables:
            raise QueryError(f"no table named {table}. {self._available()}")
        return quote_identifier(table)

    def _available(self) -> str:
        return "Available tables: " + (", ".join(self._tables) or "(none)")

    def _message(self, error: duckdb.Error) -> str:
        message = one_line(error)
        if isinstance(error, duckdb.CatalogException) and _MISSING_TABLE.search(message):
            return f"{message} {self._available()}"
        if isinstance(error, duckdb.PermissionException):
            return f"{message} (queries may read only the warehouse's tables)"
        return message

    def close(self) -> None:
        """Release the DuckDB connection."""
        self._con.close()

    def __enter__(self) -> QueryEngine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
