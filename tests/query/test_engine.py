from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import SLOW_SQL, ctrl_c_after

import rawgwh.query
from rawgwh.errors import QueryError
from rawgwh.model.schema import STAR_SCHEMAS
from rawgwh.query import QueryEngine


def test_public_names_are_exported() -> None:
    for name in rawgwh.query.__all__:
        assert getattr(rawgwh.query, name) is not None, name


def test_every_table_is_a_view_by_bare_name(engine: QueryEngine, warehouse: Any) -> None:
    assert engine.tables == tuple(sorted(STAR_SCHEMAS))
    for name, table in warehouse.arrow.items():
        assert len(warehouse.tables[name]) == 2, name  # each spread over two files
        got = engine.query(f"SELECT count(*) AS n FROM {name}").column("n").to_pylist()
        assert got == [table.num_rows], name
    views = engine.query("SELECT view_name FROM duckdb_views() WHERE NOT internal")
    assert sorted(views.column("view_name").to_pylist()) == sorted(STAR_SCHEMAS)


def test_views_read_the_files_as_written(engine: QueryEngine, warehouse: Any) -> None:
    games = engine.query("SELECT * FROM fact_games ORDER BY game_id")
    assert games.to_pylist() == warehouse.arrow["fact_games"].sort_by("game_id").to_pylist()
    schema = engine.schema("fact_games")
    assert schema.names == STAR_SCHEMAS["fact_games"].names
    assert schema.types == STAR_SCHEMAS["fact_games"].types


def test_a_table_read_once_is_not_copied_into_duckdb(engine: QueryEngine) -> None:
    engine.query("SELECT count(*) FROM fact_games JOIN dim_genre ON true")
    tables = engine.query("SELECT count(*) AS n FROM duckdb_tables()")
    assert tables.column("n").to_pylist() == [0]
    assert engine.cached == ()


def test_a_small_table_read_again_is_served_from_memory(
    warehouse: Any, write_parquet: Any, tmp_path: Path
) -> None:
    star = {n: warehouse.arrow[n] for n in ("fact_games", "dim_genre", "bridge_game_genre")}
    files = write_parquet(star, tmp_path)
    sql = (
        "SELECT g.name, count(*) AS games, sum(f.added) AS added FROM fact_games f "
        "JOIN bridge_game_genre b USING (game_id) JOIN dim_genre g USING (genre_key) "
        "GROUP BY ALL ORDER BY ALL"
    )
    with QueryEngine(files, allowed_roots=[str(tmp_path)]) as e:
        first = e.query(sql)
        assert e.cached == ()
        assert e.query("SELECT max(game_id) FROM fact_games").num_rows == 1
        assert e.cached == ("fact_games",)  # read twice; the others once
        again = e.query(sql)
        assert e.cached == ("bridge_game_genre", "dim_genre", "fact_games")
        for path in [p for paths in files.values() for p in paths]:
            Path(path).unlink()  # memory only from here
        assert e.query(sql) == again == first
        assert e.schema("fact_games").types == STAR_SCHEMAS["fact_games"].types
        views = e.query("SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1")
        assert views.column("view_name").to_pylist() == sorted(star)


def test_tables_beyond_the_cache_budget_keep_reading_their_files(
    warehouse: Any, write_parquet: Any, tmp_path: Path
) -> None:
    files = write_parquet({n: warehouse.arrow[n] for n in ("fact_games", "dim_genre")}, tmp_path)
    genres = sum(Path(p).stat().st_size for p in files["dim_genre"])
    with QueryEngine(files, allowed_roots=[str(tmp_path)], cache_bytes=genres) as e:
        for _ in range(3):
            e.query("SELECT count(*) FROM fact_games CROSS JOIN dim_genre")
        assert e.cached == ("dim_genre",)  # fact_games alone is over the budget
    with QueryEngine(files, allowed_roots=[str(tmp_path)], cache_bytes=0) as e:
        for _ in range(3):
            e.query("SELECT count(*) FROM fact_games CROSS JOIN dim_genre")
        assert e.cached == ()


EMPTY = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("odd name", pa.string()),
        pa.field("day", pa.date32()),
        pa.field("at", pa.timestamp("us")),
        pa.field("score", pa.float64()),
        pa.field("flag", pa.bool_()),
        pa.field("tags", pa.list_(pa.string())),
    ]
)


def test_a_table_without_files_has_its_columns_and_no_rows(tmp_path: Path) -> None:
    with QueryEngine({"empty": []}, schemas={"empty": EMPTY}, allowed_roots=[str(tmp_path)]) as e:
        result = e.query("SELECT * FROM empty")
        assert result.num_rows == 0
        assert result.schema.names == EMPTY.names
        assert result.schema.types[:-1] == EMPTY.types[:-1]
        assert pa.types.is_list(result.schema.field("tags").type)
        count = e.query('SELECT count(*) AS n, max("odd name") AS m FROM empty')
        assert count.to_pylist() == [{"n": 0, "m": None}]


def test_empty_star_tables_join(warehouse: Any, tmp_path: Path) -> None:
    tables = dict(warehouse.tables)
    tables["fact_game_ratings"] = []
    with QueryEngine(tables, schemas=STAR_SCHEMAS, allowed_roots=[str(warehouse.root)]) as e:
        joined = e.query(
            "SELECT count(*) AS n FROM fact_games g JOIN fact_game_ratings r USING (game_id)"
        )
        assert joined.column("n").to_pylist() == [0]


def test_a_table_without_files_or_schema_is_refused() -> None:
    with pytest.raises(QueryError, match="no data files and no schema"):
        QueryEngine({"ghost": []})


def test_file_uris_and_relative_roots(warehouse: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(warehouse.root.parent)
    uris = {n: [Path(p).as_uri() for p in ps] for n, ps in warehouse.tables.items()}
    with QueryEngine(uris, allowed_roots=[warehouse.root.name]) as e:
        assert e.query("SELECT count(*) AS n FROM dim_genre").column("n").to_pylist() == [5]


def test_files_from_before_a_column_was_added_read_as_null(tmp_path: Path) -> None:
    old, new = tmp_path / "t" / "old.parquet", tmp_path / "t" / "new.parquet"
    old.parent.mkdir()
    pq.write_table(pa.table({"id": [1]}), old)
    pq.write_table(pa.table({"id": [2], "extra": ["x"]}), new)
    with QueryEngine({"t": [str(old), str(new)]}, allowed_roots=[str(tmp_path)]) as e:
        rows = e.query("SELECT * FROM t ORDER BY id").to_pylist()
    assert rows == [{"id": 1, "extra": None}, {"id": 2, "extra": "x"}]


def test_partition_folders_add_no_columns(tmp_path: Path) -> None:
    path = tmp_path / "t" / "data" / "release_year=1999" / "part.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"release_year": pa.array([2015], pa.int32())}), path)
    with QueryEngine({"t": [str(path)]}, allowed_roots=[str(tmp_path)]) as e:
        assert e.query("SELECT * FROM t").to_pylist() == [{"release_year": 2015}]


def test_bad_sql_is_one_line(engine: QueryEngine) -> None:
    with pytest.raises(QueryError) as caught:
        engine.query("SELEC name FROM fact_games")
    assert str(caught.value) == 'Parser Error: syntax error at or near "SELEC"'


@pytest.mark.parametrize(
    ("sql", "start"),
    [
        ("SELECT nope FROM fact_games", 'Binder Error: Referenced column "nope" not found'),
        ("SELECT 'x'::INTEGER", "Conversion Error:"),
        ("SELECT * FROM fact_games WHERE", "Parser Error:"),
    ],
)
def test_errors_are_one_line(engine: QueryEngine, sql: str, start: str) -> None:
    with pytest.raises(QueryError) as caught:
        engine.query(sql)
    assert str(caught.value).startswith(start)
    assert "\n" not in str(caught.value)


def test_ctrl_c_during_a_query_is_a_keyboard_interrupt(engine: QueryEngine) -> None:
    # DuckDB takes the KeyboardInterrupt of a real SIGINT and raises RuntimeError instead.
    with ctrl_c_after(0.3), pytest.raises(KeyboardInterrupt):
        engine.query(SLOW_SQL)
    assert engine.query("SELECT 42 AS x").column("x").to_pylist() == [42]


def test_unknown_table_lists_the_tables(engine: QueryEngine) -> None:
    with pytest.raises(QueryError) as caught:
        engine.query("SELECT * FROM fact_game")
    message = str(caught.value)
    assert message.startswith("Catalog Error: Table with name fact_game does not exist!")
    assert "Available tables: bridge_game_genre, " in message
    assert "fact_games" in message and "\n" not in message
    with pytest.raises(QueryError, match="Available tables: "):
        engine.schema("nope")


def test_results_are_arrow_with_duckdb_types(engine: QueryEngine) -> None:
    result = engine.query(
        "SELECT DATE '2015-03-01' AS d, sum(ratings_count) AS total, list(game_id) AS ids "
        "FROM fact_games WHERE game_id <= 2"
    )
    assert result.column("d").to_pylist() == [dt.date(2015, 3, 1)]
    assert pa.types.is_decimal(result.schema.field("total").type)  # HUGEINT
    assert sorted(result.column("ids").to_pylist()[0]) == [1, 2]


def test_closing_releases_the_connection(warehouse: Any) -> None:
    engine = warehouse.engine()
    engine.close()
    with pytest.raises(QueryError):
        engine.query("SELECT 1")


def test_a_missing_data_file_fails_on_opening(tmp_path: Path) -> None:
    with pytest.raises(QueryError, match=r"^IO Error: .*gone\.parquet"):
        QueryEngine({"t": [str(tmp_path / "gone.parquet")]}, allowed_roots=[str(tmp_path)])


def test_uris_with_escapes(tmp_path: Path) -> None:
    path = tmp_path / "a dir" / "part 1.parquet"
    path.parent.mkdir()
    pq.write_table(pa.table({"a": [1]}), path)
    with QueryEngine({"t": [path.as_uri()]}, allowed_roots=[path.parent.as_uri()]) as e:
        assert e.query("SELECT a FROM t").to_pylist() == [{"a": 1}]


def test_describe_gives_sql_types(engine: QueryEngine) -> None:
    columns = engine.describe("dim_genre").to_pylist()
    assert columns[0] == {"column_name": "genre_key", "column_type": "BIGINT"}
    assert [c["column_name"] for c in columns] == STAR_SCHEMAS["dim_genre"].names
    with pytest.raises(QueryError, match="no table named nope. Available tables: "):
        engine.describe("nope")
