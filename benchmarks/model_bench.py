"""Publish time and peak memory: raw zone -> star schema, full and incremental.

    python -m benchmarks.model_bench --games 1000000 --repeat 3
    python -m benchmarks.model_bench --games 100000 --changed 0.01

Fills ``raw.games`` with the 10,000 real games of 2015 replicated under shifted ids (in
batches, as a sync would), then runs each publish as a fresh child process and reports
its wall time, the publish's own time and stages, and peak RSS (``wait4``). Incremental
runs first append new versions of ``--changed`` of the games.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import statistics
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._proc import ROOT, measure

SAMPLE = ROOT.parent / "shared" / "rawg" / "games-2015.jsonl.gz"
ID_SHIFT = 2_000_000  # above the sample's largest id, so copies never collide
BATCH = 100_000


def _sample() -> Any:
    import orjson
    import pyarrow as pa

    from rawgwh.raw import parse_games

    with gzip.open(SAMPLE, "rb") as f:
        records = [orjson.loads(line) for line in f if line.strip()]
    games: pa.Table = parse_games(records, sync_id="bench", fetched_at=datetime(2025, 1, 1)).games
    return games


def _settings(warehouse: Path) -> Any:
    from rawgwh.settings import Settings

    return Settings(warehouse=str(warehouse))


def fill(warehouse: Path, games: int) -> None:
    """``games`` game versions in ``raw.games``, appended ``BATCH`` at a time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from rawgwh.raw.schema import RAW_GAMES_SCHEMA
    from rawgwh.warehouse.catalog import Warehouse
    from rawgwh.warehouse.raw_zone import RAW_GAMES

    sample = _sample()
    table = Warehouse.open(_settings(warehouse), create=True).table(RAW_GAMES, RAW_GAMES_SCHEMA)
    copies, pending = [], 0
    for k in range(-(-games // sample.num_rows)):
        ids = pc.add(sample.column("id"), k * ID_SHIFT)
        copy = sample.set_column(0, sample.schema.field("id"), ids)
        copy = copy.slice(0, games - k * sample.num_rows)
        copies.append(copy)
        pending += copy.num_rows
        if pending >= BATCH:
            table.append(pa.concat_tables(copies), snapshot_properties={"rawgwh.sync-id": "fill"})
            copies, pending = [], 0
    if copies:
        table.append(pa.concat_tables(copies), snapshot_properties={"rawgwh.sync-id": "fill"})


def change(warehouse: Path, fraction: float, seed: int, ids_file: Path) -> None:
    """New versions of ``fraction`` of the games (one raw batch); their ids to ``ids_file``."""
    import polars as pl

    from rawgwh.warehouse.catalog import Warehouse
    from rawgwh.warehouse.raw_zone import RAW_GAMES
    from rawgwh.warehouse.star_zone import read_files

    table = Warehouse.open(_settings(warehouse)).table(RAW_GAMES)
    raw = read_files(table, [t.file for t in table.scan().plan_files()])
    ids = raw.select("id").unique().collect().get_column("id").sample(fraction=fraction, seed=seed)
    picked = (
        raw.filter(pl.col("id").is_in(ids.implode()))
        .sort("updated")
        .unique("id", keep="last")
        .collect()
    )
    bumped = picked.with_columns(
        pl.col("updated") + timedelta(days=1 + seed),
        (pl.col("rating") + 0.01).alias("rating"),
        pl.col("tags").list.head(3),
        pl.lit(datetime(2025, 6, 1 + seed % 20)).alias("_fetched_at"),
    )
    table.append(bumped.to_arrow().cast(table.schema().as_arrow()))
    picked.select(pl.col("id").alias("game_id")).write_parquet(ids_file)


def child(warehouse: Path, sync_id: str, ids_file: Path | None) -> None:
    """One publish, in this process; prints its result as JSON."""
    import polars as pl

    from rawgwh.warehouse.catalog import Warehouse
    from rawgwh.warehouse.publish import publish_star

    changed = pl.read_parquet(ids_file).get_column("game_id") if ids_file else None
    wh = Warehouse.open(_settings(warehouse))
    before = resource.getrusage(resource.RUSAGE_SELF)
    with wh.lock():
        result = publish_star(wh, sync_id=sync_id, changed_ids=changed)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(
        json.dumps(
            {
                "seconds": result.seconds,
                # CPU time of the publish itself: on a shared 2-core machine, wall time
                # depends on the load (recorded as the 1-minute load average).
                "cpu_seconds": cpu,
                "load_1m": os.getloadavg()[0],
                "mode": result.mode,
                "files_written": result.files_written,
                "timings": result.timings,
            },
        )
    )


def _run(warehouse: Path, sync_id: str, ids_file: Path | None, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.model_bench", "--child", str(warehouse)]
    cmd += ["--sync-id", sync_id, "--result", str(out)]
    if ids_file:
        cmd += ["--ids", str(ids_file)]
    m = measure(cmd)
    if m.returncode != 0:
        raise SystemExit(f"publish failed with exit code {m.returncode}")
    inner: dict[str, Any] = json.loads(out.read_text())
    return {"wall_seconds": m.seconds, "peak_rss_mb": m.peak_rss_mb, **inner}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--games", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--changed", type=float, default=0.01, help="fraction per incremental")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sync-id", default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--ids", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import contextlib
        import io

        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            child(args.child, args.sync_id, args.ids)
        args.result.write_text(buffer.getvalue())
        return

    runs: dict[str, list[dict[str, Any]]] = {"full": [], "incremental": []}
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Path(tmp) / "wh"
        print(f"filling raw.games with {args.games:,} games ...", flush=True)
        fill(warehouse, args.games)
        out = Path(tmp) / "result.json"
        for i in range(args.repeat):
            r = _run(warehouse, f"full-{i}", None, out)
            runs["full"].append(r)
            print(f"full {i + 1}: {_line(r)}", flush=True)
        for i in range(args.repeat):
            ids = Path(tmp) / f"ids-{i}.parquet"
            change(warehouse, args.changed, i, ids)
            r = _run(warehouse, f"incr-{i}", ids, out)
            runs["incremental"].append(r)
            print(f"incremental {i + 1}: {_line(r)}", flush=True)
    summary = {
        "games": args.games,
        "changed": args.changed,
        **{
            f"{kind}_median_{key}": statistics.median(r[key] for r in rs)
            for kind, rs in runs.items()
            for key in ("wall_seconds", "seconds", "cpu_seconds", "peak_rss_mb", "load_1m")
        },
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({**summary, "runs": runs}, indent=2))


def _line(r: dict[str, Any]) -> str:
    stages = ", ".join(f"{k} {v:.2f}" for k, v in r["timings"].items())
    return (
        f"{r['wall_seconds']:.2f} s wall ({r['mode']}, publish {r['seconds']:.2f} s: {stages}; "
        f"CPU {r['cpu_seconds']:.2f} s), peak RSS {r['peak_rss_mb']:,.0f} MB, "
        f"load {r['load_1m']:.1f}"
    )


if __name__ == "__main__":
    main()
