from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from rawgwh.errors import ConfigError
from rawgwh.query import FORMATS, QueryEngine, render

FLAT = pa.table(
    {
        "id": pa.array([1, 2, 3], pa.int64()),
        "name": ["Witcher, the", 'say "hi"', None],
        "rating": [4.25, 0.1, None],
        "released": pa.array([dt.date(2015, 5, 18), None, dt.date(2016, 2, 29)]),
        "updated": pa.array(
            [dt.datetime(2020, 1, 2, 3, 4, 5, 600000), None, dt.datetime(2021, 1, 1)],
            pa.timestamp("us"),
        ),
        "tba": [False, True, None],
    }
)


def _console(width: int = 200) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=width, color_system=None), buffer


def test_formats() -> None:
    assert FORMATS == ("table", "csv", "json", "parquet")


def test_csv_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "result.csv"
    render(FLAT, "csv", output=out)
    back = pacsv.read_csv(
        out,
        convert_options=pacsv.ConvertOptions(column_types=FLAT.schema, strings_can_be_null=True),
    )
    assert back.equals(FLAT)


def test_csv_to_stdout_matches_the_file(tmp_path: Path) -> None:
    console, buffer = _console()
    render(FLAT, "csv", console=console)
    render(FLAT, "csv", output=tmp_path / "r.csv")
    assert buffer.getvalue() == (tmp_path / "r.csv").read_text()
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert rows[0] == FLAT.column_names
    assert rows[1] == [
        "1",
        "Witcher, the",
        "4.25",
        "2015-05-18",
        "2020-01-02T03:04:05.600000",
        "false",
    ]
    assert rows[3][1:3] == ["", ""]  # nulls are empty


def _expected_json(table: pa.Table) -> list[dict[str, object]]:
    def iso(value: object) -> object:
        return value.isoformat() if isinstance(value, dt.date) else value

    return [{k: iso(v) for k, v in row.items()} for row in table.to_pylist()]


def test_json_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    render(FLAT, "json", output=out)
    back = orjson.loads(out.read_bytes())
    assert back == _expected_json(FLAT)
    assert back[0]["released"] == "2015-05-18"
    assert back[0]["updated"] == "2020-01-02T03:04:05.600000"


def test_json_to_stdout(tmp_path: Path) -> None:
    console, buffer = _console()
    render(FLAT, "json", console=console)
    assert orjson.loads(buffer.getvalue()) == _expected_json(FLAT)


def test_parquet_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "result.parquet"
    render(FLAT, "parquet", output=out)
    assert pq.read_table(out).equals(FLAT)


def test_parquet_needs_a_file() -> None:
    with pytest.raises(ConfigError, match="--output"):
        render(FLAT, "parquet", console=_console()[0])


def test_unknown_format_and_unwritable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown output format 'xml'"):
        render(FLAT, "xml")
    for fmt in FORMATS:
        with pytest.raises(ConfigError, match="cannot write"):
            render(FLAT, fmt, output=tmp_path / "missing" / f"out.{fmt}")


def test_duckdb_results_in_every_format(engine: QueryEngine, tmp_path: Path) -> None:
    result = engine.query(
        "SELECT release_year, sum(ratings_count) AS votes, list(game_id ORDER BY game_id)[:2] "
        "AS first_ids, {'n': count(*)} AS stats, min(released) AS first_release "
        "FROM fact_games WHERE release_year IS NOT NULL GROUP BY ALL ORDER BY release_year"
    )
    assert pa.types.is_decimal(result.schema.field("votes").type)
    expected = result.to_pylist()

    render(result, "json", output=tmp_path / "r.json")
    back = orjson.loads((tmp_path / "r.json").read_bytes())
    assert [r["votes"] for r in back] == [int(r["votes"]) for r in expected]
    assert [r["first_ids"] for r in back] == [r["first_ids"] for r in expected]
    assert [r["stats"] for r in back] == [r["stats"] for r in expected]
    assert [r["first_release"] for r in back] == [r["first_release"].isoformat() for r in expected]

    render(result, "csv", output=tmp_path / "r.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert [int(r["votes"]) for r in rows] == [int(r["votes"]) for r in expected]
    assert [orjson.loads(r["first_ids"]) for r in rows] == [r["first_ids"] for r in expected]

    render(result, "parquet", output=tmp_path / "r.parquet")
    assert pq.read_table(tmp_path / "r.parquet").equals(result)


def test_empty_results(tmp_path: Path) -> None:
    empty = FLAT.slice(0, 0)
    render(empty, "csv", output=tmp_path / "e.csv")
    assert (tmp_path / "e.csv").read_text() == ",".join(FLAT.column_names) + "\n"
    render(empty, "json", output=tmp_path / "e.json")
    assert orjson.loads((tmp_path / "e.json").read_bytes()) == []
    render(empty, "parquet", output=tmp_path / "e.parquet")
    assert pq.read_table(tmp_path / "e.parquet").schema == FLAT.schema
    console, buffer = _console()
    render(empty, "table", console=console)
    assert "0 rows" in buffer.getvalue()


def test_table_for_people() -> None:
    console, buffer = _console()
    render(FLAT, "table", console=console)
    text = buffer.getvalue()
    for name in FLAT.column_names:
        assert name in text
    assert "NULL" in text and "2015-05-18" in text and "3 rows" in text


def test_table_truncates_with_a_note() -> None:
    long = pa.table({"n": list(range(100)), "name": [f"[b]game {i}[/b]" for i in range(100)]})
    console, buffer = _console()
    render(long, "table", console=console, max_rows=5)
    text = buffer.getvalue()
    assert "[b]game 4[/b]" in text  # not taken for Rich markup
    assert "game 5" not in text
    assert "showing the first 5 of 100 rows" in text


def test_table_to_a_file_has_every_row_and_no_colour(tmp_path: Path) -> None:
    long = pa.table({"n": list(range(100))})
    render(long, "table", output=tmp_path / "t.txt", max_rows=5)
    text = (tmp_path / "t.txt").read_text()
    assert "\x1b[" not in text
    assert "│ 99 │" in text and "100 rows" in text


def test_repeated_column_names_keep_every_column(engine: QueryEngine, tmp_path: Path) -> None:
    result = engine.query("SELECT 1 AS a, 2 AS a")
    render(result, "csv", output=tmp_path / "r.csv")
    assert (tmp_path / "r.csv").read_text() == "a,a\n1,2\n"
    console, buffer = _console()
    render(result, "table", console=console)
    assert "│ 1 │ 2 │" in buffer.getvalue()
