"""The example queries and the ten benchmark queries run against real star tables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from rawgwh.errors import QueryError
from rawgwh.model.schema import STAR_SCHEMAS
from rawgwh.query import EXAMPLES, QueryEngine, example

BENCHMARKS = sorted((Path(__file__).parents[2] / "benchmarks" / "queries").glob("*.sql"))


def _tables_used(sql: str) -> set[str]:
    return {t for t in STAR_SCHEMAS if re.search(rf"\b{t}\b", sql)}


def test_there_are_ten_numbered_benchmarks() -> None:
    assert [p.name[:3] for p in BENCHMARKS] == [f"{i:02d}_" for i in range(1, 11)]
    used = set().union(*(_tables_used(p.read_text()) for p in BENCHMARKS))
    assert used == set(STAR_SCHEMAS)  # every table is exercised by some query


def test_examples_are_named_and_described() -> None:
    assert {"top-genres", "platform-trends", "tag-cooccurrence", "store-coverage"} <= set(EXAMPLES)
    assert {"esrb-mix", "top-rated-by-year"} <= set(EXAMPLES)
    for name, ex in EXAMPLES.items():
        assert ex.name == name and ex.description and "\n" not in ex.description
        assert ex.sql == ex.sql.strip()
    with pytest.raises(QueryError, match="no example named 'nope'; try top-genres, "):
        example("nope")


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_each_example_runs(engine: QueryEngine, name: str) -> None:
    assert engine.query(EXAMPLES[name].sql).num_rows > 0


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.stem)
def test_each_benchmark_runs_on_the_synthetic_star(engine: QueryEngine, path: Path) -> None:
    sql = path.read_text()
    assert sql.startswith("-- "), "each query says what it answers"
    assert engine.query(sql).num_rows > 0


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.stem)
def test_each_benchmark_runs_on_empty_tables(tmp_path: Path, path: Path) -> None:
    tables: dict[str, list[str]] = {name: [] for name in STAR_SCHEMAS}
    with QueryEngine(tables, schemas=STAR_SCHEMAS, allowed_roots=[str(tmp_path)]) as e:
        result = e.query(path.read_text())
    assert isinstance(result, pa.Table)


def _results(engine: QueryEngine) -> dict[str, list[dict[str, Any]]]:
    return {p.stem: engine.query(p.read_text()).to_pylist() for p in BENCHMARKS}


def test_benchmarks_on_the_real_sample_are_deterministic(sample_warehouse: Any) -> None:
    """Same rows in the same order whatever the order of the data files."""
    with sample_warehouse.engine() as e:
        first = _results(e)
    reversed_files = {n: list(reversed(ps)) for n, ps in sample_warehouse.tables.items()}
    root = str(sample_warehouse.root)
    with QueryEngine(reversed_files, schemas=STAR_SCHEMAS, allowed_roots=[root]) as e:
        second = _results(e)
        from_memory = _results(e)  # every table read again: now loaded into memory
        assert set(e.cached) == set(STAR_SCHEMAS)
    assert first == second == from_memory
    for name, rows in first.items():
        assert rows, f"{name} found nothing in 10,000 real games"


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_each_example_finds_rows_in_the_real_sample(sample_warehouse: Any, name: str) -> None:
    with sample_warehouse.engine() as e:
        assert e.query(EXAMPLES[name].sql).num_rows > 0
