"""Query speed over a 1M-game warehouse: the ten benchmark queries warm, `rawgwh query` cold.

    python -m benchmarks.query_bench                       # build (or reuse) and measure
    python -m benchmarks.query_bench --warehouse /tmp/wh --runs 7

The warehouse is built once, like ``benchmarks.model_bench``: the 10,000 real games of
2015 replicated under shifted ids into ``raw.games``, then one full ``publish_star``. It is
kept (``--warehouse``, default under the system temp folder) and reused while it has the
wanted number of games.

Warm: one engine in this process; each query runs once to warm up, then ``--runs`` times;
the median counts. Cold: ``python -m rawgwh query SQL`` as fresh processes, median wall
time. Figures go to ``benchmarks/results/query_<games>.{json,md}`` with the load average
(``uptime``) before and after, since the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._proc import ROOT

QUERIES = ROOT / "benchmarks" / "queries"
RESULTS = ROOT / "benchmarks" / "results"
COLD_SQL = "SELECT count(*) AS games FROM fact_games"


def _settings(warehouse: Path) -> Any:
    from rawgwh.settings import Settings

    return Settings(warehouse=str(warehouse))


def published_games(warehouse: Path) -> int | None:
    """Games in the published star, or None when there is none."""
    if not (warehouse / "catalog.db").exists():
        return None
    from rawgwh.errors import RawgwhError
    from rawgwh.query.warehouse import open_warehouse_engine

    try:
        with open_warehouse_engine(_settings(warehouse)) as engine:
            return int(engine.query("SELECT count(*) FROM fact_games").column(0)[0].as_py())
    except RawgwhError:
        return None


def build(warehouse: Path, games: int) -> dict[str, Any]:
    """Fill ``raw.games`` with ``games`` games and publish the star once."""
    import shutil

    from benchmarks.model_bench import fill
    from rawgwh.warehouse.catalog import Warehouse
    from rawgwh.warehouse.publish import publish_star

    if warehouse.exists():
        shutil.rmtree(warehouse)
    started = time.perf_counter()
    fill(warehouse, games)
    filled = time.perf_counter()
    wh = Warehouse.open(_settings(warehouse))
    with wh.lock():
        result = publish_star(wh, sync_id="query-bench")
    return {
        "fill_seconds": round(filled - started, 1),
        "publish_seconds": round(result.seconds, 1),
        "publish_timings": result.timings,
    }


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _label(games: int) -> str:
    if games % 1_000_000 == 0:
        return f"{games // 1_000_000}m"
    if games % 1_000 == 0:
        return f"{games // 1_000}k"
    return str(games)


def warm(warehouse: Path, runs: int) -> dict[str, dict[str, Any]]:
    """Each query once to warm up, then ``runs`` times in one engine: seconds per run."""
    from rawgwh.query.warehouse import open_warehouse_engine

    out: dict[str, dict[str, Any]] = {}
    with open_warehouse_engine(_settings(warehouse)) as engine:
        for path in sorted(QUERIES.glob("*.sql")):
            sql = path.read_text()
            rows = engine.query(sql).num_rows
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                engine.query(sql)
                times.append(time.perf_counter() - start)
            out[path.stem] = {"rows": rows, "median_ms": _ms(statistics.median(times))}
            out[path.stem]["runs_ms"] = [_ms(t) for t in times]
            print(f"warm {path.stem}: {out[path.stem]['median_ms']} ms", flush=True)
    return out


def cold(warehouse: Path, runs: int, sql: str) -> dict[str, dict[str, Any]]:
    """Wall time of fresh ``rawgwh query`` processes: ``python -m rawgwh`` and the script."""
    script = Path(sys.executable).with_name("rawgwh")
    commands = {"python -m rawgwh": [sys.executable, "-m", "rawgwh"]}
    if script.exists():
        commands["rawgwh (console script)"] = [str(script)]
    out: dict[str, dict[str, Any]] = {}
    for label, command in commands.items():
        cmd = [*command, "query", sql, "--format", "csv", "--warehouse", str(warehouse)]
        subprocess.run(cmd, check=True, capture_output=True)  # the OS file cache, .pyc files
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        out[label] = {
            "median_ms": _ms(statistics.median(times)),
            "runs_ms": [_ms(t) for t in times],
        }
        print(f"cold {label}: {out[label]['median_ms']} ms", flush=True)
    return out


def layout(warehouse: Path) -> dict[str, dict[str, int]]:
    """Data files, rows and row groups of each published table."""
    import pyarrow.parquet as pq

    from rawgwh.query.fastpath import latest_tables

    out = {}
    for name, files in sorted(latest_tables(warehouse).files.items()):
        metas = [pq.ParquetFile(f).metadata for f in files]
        out[name] = {
            "files": len(files),
            "rows": sum(m.num_rows for m in metas),
            "row_groups": sum(m.num_row_groups for m in metas),
            "bytes": sum(os.path.getsize(f) for f in files),
        }
    return out


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def markdown(figures: dict[str, Any]) -> str:
    target_warm, target_cold = figures["targets_ms"]["warm"], figures["targets_ms"]["cold"]
    lines = [
        f"# Query benchmark: {figures['games']:,} games",
        "",
        f"{figures['when']}, {figures['machine']}, DuckDB {figures['duckdb']}.",
        f"Load before: `{figures['uptime_before']}`; after: `{figures['uptime_after']}`.",
        "",
        f"Warm: one engine, one warm-up run, median of {figures['runs']} (target <= "
        f"{target_warm} ms).",
        "",
        "| query | rows | median ms | meets target |",
        "|---|---:|---:|:---:|",
    ]
    for name, w in figures["warm"].items():
        ok = "yes" if w["median_ms"] <= target_warm else "no"
        lines.append(f"| {name} | {w['rows']} | {w['median_ms']} | {ok} |")
    lines += [
        "",
        f"Cold: a fresh process running `{figures['cold_sql']}`, median of {figures['runs']} "
        f"(target <= {target_cold} ms).",
        "",
        "| command | median ms | meets target |",
        "|---|---:|:---:|",
    ]
    for label, c in figures["cold"].items():
        ok = "yes" if c["median_ms"] <= target_cold else "no"
        lines.append(f"| {label} | {c['median_ms']} | {ok} |")
    lines += ["", "Layout:", "", "| table | files | rows | row groups | bytes |"]
    lines.append("|---|---:|---:|---:|---:|")
    for name, t in figures["layout"].items():
        lines.append(f"| {name} | {t['files']} | {t['rows']} | {t['row_groups']} | {t['bytes']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--games", type=int, default=1_000_000)
    parser.add_argument(
        "--warehouse", type=Path, default=Path(tempfile.gettempdir()) / "rawgwh-query-bench"
    )
    parser.add_argument("--runs", type=int, default=5, help="measured runs (median)")
    parser.add_argument("--cold-sql", default=COLD_SQL)
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the figures")
    args = parser.parse_args()
    found = published_games(args.warehouse)
    if found != args.games:
        print(f"building a {args.games:,}-game warehouse in {args.warehouse} ...", flush=True)
        print(json.dumps(build(args.warehouse, args.games)), flush=True)
    if args.build_only:
        return
    import duckdb

    before = uptime()
    print(before, flush=True)
    figures: dict[str, Any] = {
        "games": args.games,
        "runs": args.runs,
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "duckdb": duckdb.__version__,
        "targets_ms": {"warm": 150, "cold": 1500},
        "uptime_before": before,
        "warm": warm(args.warehouse, args.runs),
        "cold_sql": args.cold_sql,
        "cold": cold(args.warehouse, args.runs, args.cold_sql),
        "layout": layout(args.warehouse),
    }
    figures["uptime_after"] = uptime()
    print(figures["uptime_after"], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"query_{_label(args.games)}"
    stem.with_suffix(".json").write_text(json.dumps(figures, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(figures))
    print(f"wrote {stem}.json and {stem}.md")


if __name__ == "__main__":
    main()
