"""The query engines compared, each run as its own child process.

    python -m benchmarks.compare.query_engines ENGINE SPEC.json OUT.json

ENGINE: ``rawgwh`` or ``polars``, or the diagnostic ``duckdb-memory``.
SPEC.json (written by :func:`write_spec`): the warehouse, every star table's metadata
location and published snapshot, the queries, ``runs``, ``warmup`` and ``rows``. The child
opens its engine once, runs each query ``warmup`` times and then ``runs`` times (fetching
every row), and writes timings -- and the result rows when ``rows`` is set -- to OUT.json.
DuckDB's Iceberg extension has its own child (``duckdb_iceberg_child.py``): it needs an
older DuckDB, in an isolated environment, and so cannot import this module.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.compare.duckdb_iceberg_child import peak_rss_mb, plain

if TYPE_CHECKING:
    import polars as pl

QUERIES = Path(__file__).resolve().parents[1] / "queries"


def load_queries(folder: Path = QUERIES) -> dict[str, str]:
    """The ten benchmark queries, by file stem, in order."""
    return {p.stem: p.read_text() for p in sorted(folder.glob("*.sql"))}


def star_tables(warehouse: Path) -> dict[str, dict[str, Any]]:
    """Each star table's metadata file and the snapshot the ``rawgwh.published`` marker names.

    Read straight from the SQLite catalog in one transaction, so every engine is handed
    the same snapshots: the publish rawgwh itself reads.
    """
    from rawgwh.query import fastpath

    catalog = (warehouse / fastpath.CATALOG_FILE).resolve()
    con = sqlite3.connect(f"{catalog.as_uri()}?mode=ro", uri=True)
    try:
        con.execute("BEGIN")
        rows = con.execute(
            "SELECT table_name, metadata_location FROM iceberg_tables "
            "WHERE catalog_name = ? AND table_namespace = ?",
            (fastpath.CATALOG_NAME, fastpath.STAR_NAMESPACE),
        ).fetchall()
        marker = con.execute(
            "SELECT property_value FROM iceberg_namespace_properties "
            "WHERE catalog_name = ? AND namespace = ? AND property_key = ?",
            (fastpath.CATALOG_NAME, fastpath.STAR_NAMESPACE, fastpath.PUBLISHED_PROPERTY),
        ).fetchone()
    finally:
        con.close()
    if marker is None:
        raise RuntimeError(f"{warehouse} has no published star: run a publish first")
    snapshots = json.loads(marker[0])["snapshots"]
    return {
        str(name): {
            "metadata": fastpath.local_file(str(location)),
            "snapshot": int(snapshots[name]),
        }
        for name, location in rows
    }


def write_spec(
    path: Path,
    warehouse: Path,
    queries: Mapping[str, str],
    *,
    runs: int,
    warmup: int = 1,
    rows: bool = False,
) -> Path:
    spec = {
        "warehouse": str(warehouse),
        "tables": star_tables(warehouse),
        "queries": dict(queries),
        "runs": runs,
        "warmup": warmup,
        "rows": rows,
    }
    path.write_text(json.dumps(spec, indent=1))
    return path


# --- Polars: what Polars SQL cannot run, written as Polars expressions -----------------


def _tag_cooccurrence(t: Mapping[str, pl.LazyFrame]) -> pl.LazyFrame:
    """03: the query's bit-mask algorithm (Polars SQL has no ``bit_or``)."""
    import polars as pl

    popular = (
        t["dim_tag"]
        .filter(pl.col("language") == "eng")
        .sort(["games_count", "tag_key"], descending=[True, False])
        .head(50)
        .with_row_index("bit")
        .select("tag_key", (pl.lit(2, pl.UInt64).pow(pl.col("bit")).cast(pl.UInt64)).alias("flag"))
    )
    mask_counts = (
        t["bridge_game_tag"]
        .join(popular, on="tag_key")
        .group_by("game_id")
        .agg(pl.col("flag").bitwise_or().alias("mask"))
        .group_by("mask")
        .agg(pl.len().cast(pl.Int64).alias("games"))
    )
    # one row per (distinct mask, popular tag in it): the tags' game counts and the pairs
    mask_tags = mask_counts.join(popular, how="cross").filter((pl.col("mask") & pl.col("flag")) > 0)
    tag_games = mask_tags.group_by("tag_key").agg(pl.col("games").sum())
    pairs = (
        mask_tags.select("mask", "tag_key", "games")
        .join(mask_tags.select("mask", pl.col("tag_key").alias("key_b")), on="mask")
        .filter(pl.col("tag_key") < pl.col("key_b"))
        .group_by(pl.col("tag_key").alias("key_a"), "key_b")
        .agg(pl.col("games").sum())
    )
    names = t["dim_tag"].select("tag_key", "name")
    return (
        pairs.join(tag_games.rename({"tag_key": "key_a", "games": "ga"}), on="key_a")
        .join(tag_games.rename({"tag_key": "key_b", "games": "gb"}), on="key_b")
        .join(names.rename({"tag_key": "key_a", "name": "na"}), on="key_a")
        .join(names.rename({"tag_key": "key_b", "name": "nb"}), on="key_b")
        .select(
            pl.min_horizontal("na", "nb").alias("tag_a"),
            pl.max_horizontal("na", "nb").alias("tag_b"),
            pl.col("games").cast(pl.Int64),
            (pl.col("games") / (pl.col("ga") + pl.col("gb") - pl.col("games")))
            .round(4, mode="half_away_from_zero")
            .alias("jaccard"),
        )
        .sort(["games", "tag_a", "tag_b"], descending=[True, False, False])
        .head(25)
    )


def _most_added_games_per_store(t: Mapping[str, pl.LazyFrame]) -> pl.LazyFrame:
    """09: top five by ``(added, -game_id)`` per store (Polars SQL has no ``max_by``)."""
    import polars as pl

    games = t["fact_games"]
    top = (
        t["bridge_game_store"]
        .select("store_key", "game_id")
        .join(games.filter(pl.col("added").is_not_null()).select("game_id", "added"), on="game_id")
        .group_by("store_key")
        .agg(pl.col("game_id").top_k_by(["added", "game_id"], k=5, reverse=[False, True]))
        .explode("game_id")
    )
    return (
        top.join(t["dim_store"].select("store_key", pl.col("name").alias("store")), on="store_key")
        .join(
            games.select(
                "game_id", pl.col("name").alias("game"), "added", "added_beaten", "rating"
            ),
            on="game_id",
        )
        .sort(["store", "added", "game_id"], descending=[False, True, False])
        .select(
            "store",
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("store").alias("rank"),
            "game_id",
            "game",
            "added",
            "added_beaten",
            "rating",
        )
    )


PolarsQuery = Callable[[Mapping[str, "pl.LazyFrame"]], "pl.LazyFrame"]
#: Queries whose SQL Polars SQL rejects, by file stem; the rest run through ``pl.SQLContext``.
POLARS_BY_HAND: dict[str, PolarsQuery] = {
    "03_tag_cooccurrence": _tag_cooccurrence,
    "09_most_added_games_per_store": _most_added_games_per_store,
}


# --- the children ---------------------------------------------------------------------


def _rawgwh(spec: Mapping[str, Any]) -> tuple[Callable[[str, str], Any], Callable[[], None]]:
    from rawgwh.query.warehouse import open_warehouse_engine
    from rawgwh.settings import Settings

    engine = open_warehouse_engine(Settings(warehouse=spec["warehouse"]))

    def run(name: str, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        table = engine.query(sql)
        return table.column_names, [tuple(r.values()) for r in table.to_pylist()]

    return run, engine.close


def _polars(spec: Mapping[str, Any]) -> tuple[Callable[[str, str], Any], Callable[[], None]]:
    # pyiceberg plans the scans, as the issue asks (not the optional polars-iceberg plugin)
    os.environ.setdefault("POLARS_ICEBERG_PLANNER", "pyiceberg")
    import polars as pl

    from rawgwh.settings import Settings
    from rawgwh.warehouse.catalog import Warehouse

    catalog = Warehouse.open(Settings(warehouse=spec["warehouse"])).catalog
    frames = {
        name: pl.scan_iceberg(catalog.load_table(("star", name)), snapshot_id=table["snapshot"])
        for name, table in spec["tables"].items()
    }
    ctx = pl.SQLContext(frames)

    def run(name: str, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        by_hand = POLARS_BY_HAND.get(name)
        frame = by_hand(frames).collect() if by_hand else ctx.execute(sql).collect()
        return frame.columns, frame.rows()

    return run, lambda: None


def _duckdb_memory(
    spec: Mapping[str, Any],
) -> tuple[Callable[[str, str], Any], Callable[[], None]]:
    """A diagnostic, not a rival: rawgwh's engine (same DuckDB, files, sandbox and read-only
    check) with the star tables loaded into DuckDB memory before timing, so its figures are
    query execution alone, without reading Parquet."""
    import duckdb

    from rawgwh.query import fastpath
    from rawgwh.query.sandbox import check_read_only, lock_down

    root = Path(spec["warehouse"])
    con = duckdb.connect(":memory:")
    paths: list[str] = []
    for name, files in fastpath.latest_tables(root).files.items():
        if name in spec["tables"]:
            paths += files
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            con.execute(
                f'CREATE TABLE "{name}" AS SELECT * FROM read_parquet([{listed}], '
                "hive_partitioning = false)"
            )
    lock_down(con, directories=[str(root)], paths=paths)

    def run(name: str, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        check_read_only(con, sql)
        table = con.sql(sql).to_arrow_table()
        return table.column_names, [tuple(r.values()) for r in table.to_pylist()]

    return run, con.close


ENGINES = {
    "rawgwh": _rawgwh,
    "polars": _polars,
    "duckdb-memory": _duckdb_memory,
}


def run_child(engine: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Open ``engine`` once and run every query of ``spec``: timings, rows if asked."""
    import importlib.metadata as md

    started = time.perf_counter()
    run, close = ENGINES[engine](spec)
    out: dict[str, Any] = {
        "engine": engine,
        "version": md.version("polars" if engine == "polars" else "duckdb"),
        "setup_seconds": time.perf_counter() - started,
        "queries": {},
    }
    try:
        for name, sql in spec["queries"].items():
            first = time.perf_counter()
            columns, rows = run(name, sql)
            first = time.perf_counter() - first
            for _ in range(int(spec.get("warmup", 1)) - 1):
                columns, rows = run(name, sql)
            seconds = []
            for _ in range(int(spec["runs"])):
                start = time.perf_counter()
                columns, rows = run(name, sql)
                seconds.append(time.perf_counter() - start)
            entry: dict[str, Any] = {
                "seconds": seconds,
                "first_seconds": first,
                "row_count": len(rows),
            }
            if spec.get("rows"):
                entry["columns"] = list(columns)
                entry["rows"] = [plain(list(r)) for r in rows]
            out["queries"][name] = entry
    finally:
        close()
    out["self_peak_rss_mb"] = peak_rss_mb()
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ENGINES:
        print(f"usage: query_engines {'|'.join(ENGINES)} SPEC.json OUT.json", file=sys.stderr)
        return 2
    engine, spec_path, out_path = argv
    result = run_child(engine, json.loads(Path(spec_path).read_text()))
    Path(out_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
