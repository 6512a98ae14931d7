"""Pre-publish checks of the star schema, as SQL over the Arrow tables in DuckDB.

Every check is a query returning the offending rows: zero rows means it passed.

An incremental publish checks only what changed (:func:`check_delta_totals` plus
:func:`run_checks` over the replaced fact and bridge rows with the complete dimensions).
That is as strong as checking the whole result because the kept rows passed when they were
published, dimension keys never change (checked here) and dimensions only grow, and the
totals (row count, unique game ids) are checked on the id sets of kept and new rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import polars as pl
import pyarrow as pa

from rawgwh.errors import ValidationFailed
from rawgwh.model.schema import DIMENSIONS, STAR_SCHEMAS, STAR_TABLES

__all__ = ["CheckResult", "check_delta_totals", "raise_if_failed", "run_checks"]

EXAMPLES = 5

# (bridge table, its member key, the dimension the key points to)
_BRIDGE_KEYS = (
    ("bridge_game_platform", "platform_key", "dim_platform"),
    ("bridge_game_parent_platform", "parent_platform_key", "dim_parent_platform"),
    ("bridge_game_store", "store_key", "dim_store"),
    ("bridge_game_genre", "genre_key", "dim_genre"),
    ("bridge_game_tag", "tag_key", "dim_tag"),
    ("fact_game_ratings", "rating_id", None),
)
# (fact column, dimension, dimension key): null foreign keys are allowed in the fact.
_FACT_KEYS = (
    ("released_date_key", "dim_date", "date_key"),
    ("esrb_rating_key", "dim_esrb_rating", "esrb_rating_key"),
)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's outcome, with up to five offending rows rendered as text."""

    name: str
    passed: bool
    failing_rows: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Check:
    name: str
    sql: str  # selects the offending rows


def _unique(table: str, *columns: str) -> _Check:
    cols = ", ".join(columns)
    label = f".{cols}" if len(columns) == 1 else f"({cols})"
    return _Check(
        f"unique:{table}{label}",
        f"SELECT {cols}, count(*) AS copies FROM {table} GROUP BY {cols} HAVING count(*) > 1",
    )


def _not_null(table: str) -> _Check:
    required = [f.name for f in STAR_SCHEMAS[table] if not f.nullable]
    where = " OR ".join(f"{c} IS NULL" for c in required)
    return _Check(f"not_null:{table}", f"SELECT * FROM {table} WHERE {where}")


def _resolves(child: str, column: str, parent: str, parent_column: str) -> _Check:
    return _Check(
        f"fk:{child}.{column}->{parent}",
        f"""
        SELECT c.* FROM {child} AS c
        LEFT JOIN {parent} AS p ON c.{column} = p.{parent_column}
        WHERE c.{column} IS NOT NULL AND p.{parent_column} IS NULL
        """,
    )


def _row_count(expected: int) -> _Check:
    return _Check(
        "row_count:fact_games",
        f"""
        SELECT count(*) AS fact_rows, {int(expected)} AS expected_games FROM fact_games
        HAVING count(*) <> {int(expected)}
        """,
    )


def _checks(expected_games: int | None) -> Iterator[_Check]:
    for dim in DIMENSIONS:
        yield _unique(dim.table, dim.key)
        yield _unique(dim.table, dim.natural)
    yield _unique("dim_date", "date_key")
    yield _unique("fact_games", "game_id")
    for bridge, key, dim_table in _BRIDGE_KEYS:
        yield _unique(bridge, "game_id", key)
        yield _resolves(bridge, "game_id", "fact_games", "game_id")
        if dim_table is not None:
            yield _resolves(bridge, key, dim_table, key)
    for column, dim_table, dim_key in _FACT_KEYS:
        yield _resolves("fact_games", column, dim_table, dim_key)
    for table in STAR_TABLES:
        yield _not_null(table)
    if expected_games is not None:
        yield _row_count(expected_games)


def _render(columns: Sequence[str], row: tuple[object, ...]) -> str:
    return ", ".join(f"{c}={v!r}" for c, v in zip(columns, row, strict=True))


def _run(con: duckdb.DuckDBPyConnection, check: _Check) -> CheckResult:
    # One pass: the window counts every offending row while LIMIT keeps a few to show.
    cursor = con.execute(
        f"SELECT *, count(*) OVER () AS _failing FROM ({check.sql}) LIMIT {EXAMPLES}"
    )
    rows = cursor.fetchall()
    if not rows:
        return CheckResult(check.name, passed=True)
    columns = [d[0] for d in cursor.description or []][:-1]
    examples = [_render(columns, row[:-1]) for row in rows]
    return CheckResult(check.name, passed=False, failing_rows=int(rows[0][-1]), examples=examples)


def run_checks(tables: Mapping[str, pa.Table], *, expected_games: int | None) -> list[CheckResult]:
    """Run every check on the star ``tables``; ``expected_games`` is the fact's row count."""
    missing = [t for t in STAR_TABLES if t not in tables]
    if missing:
        return [CheckResult("tables_present", False, len(missing), missing[:EXAMPLES])]
    con = duckdb.connect(":memory:")
    try:
        for name in STAR_TABLES:
            con.register(name, tables[name])
        checks = list(_checks(expected_games))
        # One statement counts every check's offending rows: DuckDB plans and runs them
        # together, far faster than one round trip each. Only failures are queried again.
        counts = con.execute(
            "SELECT " + ", ".join(f"(SELECT count(*) FROM ({c.sql}))" for c in checks)
        ).fetchone()
        assert counts is not None
        return [
            _run(con, check) if failing else CheckResult(check.name, passed=True)
            for check, failing in zip(checks, counts, strict=True)
        ]
    finally:
        con.close()


def check_delta_totals(
    *,
    previous_dims: Mapping[str, pa.Table],
    dims: Mapping[str, pa.Table],
    kept_ids: pa.Array | pa.ChunkedArray,
    new_ids: pa.Array | pa.ChunkedArray,
    expected_games: int,
) -> list[CheckResult]:
    """The whole-star checks an incremental publish does on id sets instead of rows.

    ``kept_ids`` are the game ids of the fact rows kept from the previous publish and
    ``new_ids`` those of the rows replacing or adding games: together they must be
    ``expected_games`` distinct ids. Every (key, natural id) pair of ``previous_dims`` must
    still be in ``dims``, so the kept rows' foreign keys still resolve.
    """
    results: list[CheckResult] = []
    total = len(kept_ids) + len(new_ids)
    if total == expected_games:
        results.append(CheckResult("row_count:fact_games", passed=True))
    else:
        example = f"fact_rows={total}, expected_games={int(expected_games)}"
        results.append(CheckResult("row_count:fact_games", False, 1, [example]))
    ids = pl.concat([_series(kept_ids), _series(new_ids)], how="vertical", rechunk=False).rename(
        "game_id"
    )
    if ids.n_unique() == ids.len():
        results.append(CheckResult("unique:fact_games.game_id", passed=True))
    else:
        copies = ids.value_counts(name="copies").filter(pl.col("copies") > 1).sort("game_id")
        examples = [_render(copies.columns, row) for row in copies.head(EXAMPLES).iter_rows()]
        results.append(CheckResult("unique:fact_games.game_id", False, copies.height, examples))
    for name, before in previous_dims.items():
        results.append(_keys_kept(name, before, dims.get(name)))
    return results


def _series(values: pa.Array | pa.ChunkedArray) -> pl.Series:
    series = pl.Series("game_id", values)
    return series.cast(pl.Int64)


def _keys_kept(name: str, before: pa.Table, after: pa.Table | None) -> CheckResult:
    """Previous dimension keys, with their natural ids, are all still present."""
    check = f"keys_kept:{name}"
    columns = [STAR_SCHEMAS[name].names[0]]
    columns += [d.natural for d in DIMENSIONS if d.table == name]
    old = pl.DataFrame(before.select(columns))
    new = pl.DataFrame(after.select(columns)) if after is not None else old.clear()
    lost = old.join(new, on=columns, how="anti", nulls_equal=True)
    if lost.is_empty():
        return CheckResult(check, passed=True)
    examples = [_render(lost.columns, row) for row in lost.head(EXAMPLES).iter_rows()]
    return CheckResult(check, False, lost.height, examples)


def raise_if_failed(results: Sequence[CheckResult]) -> None:
    """Raise :class:`ValidationFailed` naming each failed check with one example row."""
    failed = [r for r in results if not r.passed]
    if not failed:
        return
    parts = [
        f"{r.name} ({r.failing_rows} rows" + (f", e.g. {r.examples[0]})" if r.examples else ")")
        for r in failed
    ]
    raise ValidationFailed(
        f"{len(failed)} check(s) failed: " + "; ".join(parts), [r.name for r in failed]
    )
