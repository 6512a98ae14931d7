"""The sandbox: what SQL may read, and that it can change nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rawgwh.errors import QueryError
from rawgwh.query import QueryEngine, check_read_only


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[QueryEngine, Path, Path]]:
    """An engine over ``<tmp>/wh``, with secrets in ``<tmp>/outside`` and ``<tmp>/wh-sibling``."""
    root, outside, sibling = tmp_path / "wh", tmp_path / "outside", tmp_path / "wh-sibling"
    for folder in (root / "t", outside, sibling):
        folder.mkdir(parents=True)
    data = root / "t" / "part.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), data)
    for folder in (outside, sibling):
        pq.write_table(pa.table({"secret": ["s3cr3t"]}), folder / "secret.parquet")
        (folder / "secret.csv").write_text("secret\ns3cr3t\n")
        (folder / "secret.json").write_text('{"secret": "s3cr3t"}\n')
    with QueryEngine({"t": [str(data)]}, allowed_roots=[str(root)]) as engine:
        yield engine, root, tmp_path


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


FORBIDDEN = [
    "CREATE TABLE x AS SELECT * FROM t",
    "CREATE TEMP TABLE x AS SELECT 1",
    "CREATE VIEW v AS SELECT 1",
    "CREATE MACRO m() AS 1",
    "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 'v')",
    "INSERT INTO t VALUES (3)",
    "UPDATE t SET a = 0",
    "DELETE FROM t",
    "DROP VIEW t",
    "ALTER VIEW t RENAME TO u",
    "COPY t TO '{root}/leak.csv'",
    "COPY (SELECT 1) TO '{root}/t/part.parquet' (FORMAT parquet)",
    "COPY t TO '{tmp}/outside/leak.csv'",
    "COPY t FROM '{tmp}/outside/secret.csv'",
    "EXPORT DATABASE '{root}/export'",
    "IMPORT DATABASE '{root}'",
    "ATTACH '{root}/new.duckdb' AS x",
    "ATTACH ':memory:' AS x",
    "DETACH memory",
    "USE memory",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL parquet",
    "SET threads = 1",
    "SET enable_external_access = true",
    "SET allowed_directories = ['/']",
    "RESET lock_configuration",
    "SET VARIABLE v = 1",
    "PRAGMA threads = 1",
    "PRAGMA enable_profiling",
    "PRAGMA import_database('{root}')",
    "CALL checkpoint()",
    "CHECKPOINT",
    "BEGIN TRANSACTION",
    "VACUUM",
    "PREPARE p AS SELECT 1",
    "EXPLAIN ANALYZE COPY t TO '{root}/leak.csv'",
    "EXPLAIN CREATE TABLE x AS SELECT 1",
    "PIVOT t ON a USING count(*)",
    "SELECT 1; COPY t TO '{root}/leak.csv'",
    "SELECT 1; SELECT 2",
    "",
    "  ;  ",
]


@pytest.mark.parametrize("template", FORBIDDEN)
def test_anything_but_a_read_is_refused(
    site: tuple[QueryEngine, Path, Path], template: str
) -> None:
    engine, root, tmp = site
    before = _snapshot(tmp)
    with pytest.raises(QueryError) as caught:
        engine.query(template.format(root=root, tmp=tmp))
    assert "\n" not in str(caught.value)
    assert _snapshot(tmp) == before
    assert engine.query("SELECT sum(a) AS s FROM t").to_pylist() == [{"s": 3}]


def test_refusals_say_what_is_allowed(site: tuple[QueryEngine, Path, Path]) -> None:
    engine, root, _ = site
    with pytest.raises(QueryError, match=r"read-only: COPY statements are not allowed; use SELECT"):
        engine.query(f"COPY t TO '{root}/x.csv'")
    with pytest.raises(QueryError, match="one statement at a time, got 2"):
        engine.query("SELECT 1; SELECT 2")


OUTSIDE_READS = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv('{tmp}/outside/secret.csv')",
    "SELECT * FROM read_csv_auto('{tmp}/outside/secret.csv')",
    "SELECT * FROM '{tmp}/outside/secret.csv'",
    "SELECT * FROM read_parquet('{tmp}/outside/secret.parquet')",
    "SELECT * FROM read_parquet('{tmp}/outside/*.parquet')",
    "SELECT * FROM read_parquet('{tmp}/*/secret.parquet')",
    "SELECT * FROM read_parquet('{tmp}/**/*.parquet')",
    "SELECT * FROM read_parquet('file://{tmp}/outside/secret.parquet')",
    "SELECT * FROM read_parquet('{root}/../outside/secret.parquet')",
    "SELECT * FROM read_parquet('{tmp}/wh-sibling/secret.parquet')",
    "SELECT * FROM parquet_metadata('{tmp}/outside/secret.parquet')",
    "SELECT * FROM read_json('{tmp}/outside/secret.json')",
    "SELECT * FROM read_text('{tmp}/outside/secret.csv')",
    "SELECT * FROM read_text('{tmp}/outside/*')",
    "SELECT * FROM read_blob('{tmp}/outside/secret.csv')",
    "SELECT * FROM read_blob('{root}/../outside/secret.csv')",
    "SELECT * FROM glob('{tmp}/*')",
    "SELECT * FROM glob('{tmp}/outside/*')",
    "SELECT * FROM sniff_csv('{tmp}/outside/secret.csv')",
    "SELECT * FROM read_parquet('https://example.com/x.parquet')",
    "SELECT * FROM read_csv('s3://bucket/x.csv')",
]


@pytest.mark.parametrize("template", OUTSIDE_READS)
def test_files_outside_the_warehouse_cannot_be_read(
    site: tuple[QueryEngine, Path, Path], template: str
) -> None:
    engine, root, tmp = site
    with pytest.raises(QueryError, match=r"^Permission Error: ") as caught:
        engine.query(template.format(root=root, tmp=tmp))
    assert "s3cr3t" not in str(caught.value)


def test_python_variables_are_not_scanned(site: tuple[QueryEngine, Path, Path]) -> None:
    engine, _, _ = site
    secret_rows = pa.table({"secret": ["s3cr3t"]})  # noqa: F841  (DuckDB would find it by name)
    with pytest.raises(QueryError, match="Table with name secret_rows does not exist"):
        engine.query("SELECT * FROM secret_rows")


def test_the_configuration_is_locked(site: tuple[QueryEngine, Path, Path]) -> None:
    engine, root, _ = site
    settings = engine.query(
        "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
        "'lock_configuration', 'autoload_known_extensions', 'autoinstall_known_extensions', "
        "'python_enable_replacements', 'allowed_directories', 'temp_directory')"
    )
    values = {r["name"]: r["value"] for r in settings.to_pylist()}
    assert values["enable_external_access"] == "false"
    assert values["lock_configuration"] == "true"
    assert values["autoload_known_extensions"] == "false"
    assert values["autoinstall_known_extensions"] == "false"
    assert values["python_enable_replacements"] == "false"
    assert values["temp_directory"] == ""
    assert values["allowed_directories"] == f"[{root}{os.sep}]"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a FROM t",
        "  -- a comment\nSELECT a FROM t;",
        "WITH x AS (SELECT a FROM t) SELECT * FROM x",
        "FROM t",
        "VALUES (1, 'x')",
        "(SELECT 1) UNION ALL (SELECT 2)",
        "DESCRIBE t",
        "SHOW TABLES",
        "SUMMARIZE t",
        "EXPLAIN SELECT * FROM t",
        "EXPLAIN ANALYZE SELECT * FROM t",
        "/* plan */ EXPLAIN (FORMAT json) SELECT * FROM t",
        "PRAGMA table_info('t')",
        "PRAGMA show_tables",
        "PRAGMA version",
        "SELECT * FROM read_parquet('{root}/t/*.parquet')",
        "SELECT * FROM glob('{root}/**')",
        "SELECT current_setting('threads') AS threads",
    ],
)
def test_reads_are_allowed(site: tuple[QueryEngine, Path, Path], sql: str) -> None:
    engine, root, _ = site
    assert engine.query(sql.format(root=root)).num_columns >= 1


def test_check_read_only_alone() -> None:
    con = duckdb.connect()
    try:
        assert check_read_only(con, "SELECT 1") == "SELECT 1"
        with pytest.raises(QueryError, match="EXPLAIN is allowed only for a query"):
            check_read_only(con, "EXPLAIN ANALYZE COPY (SELECT 1) TO 'x.csv'")
        with pytest.raises(QueryError, match="empty query"):
            check_read_only(con, "-- nothing")
    finally:
        con.close()


def test_only_the_given_files_when_there_is_no_root(tmp_path: Path) -> None:
    data, other = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pq.write_table(pa.table({"a": [1]}), data)
    pq.write_table(pa.table({"a": [2]}), other)
    with QueryEngine({"t": [str(data)]}) as engine:
        assert engine.query("SELECT a FROM t").to_pylist() == [{"a": 1}]
        with pytest.raises(QueryError, match="Permission Error"):
            engine.query(f"SELECT * FROM read_parquet('{other}')")
