"""Embedded vs full stack: the same sync and the same ten queries, in one run.

    python -m benchmarks.stack_bench --games 100000 --repeat 3 --runs 5

The stack is the one the tests use (``tests/stack.py``: Nessie's Iceberg REST catalog on a
moto S3 server, both on loopback; started if not running). Each sync is a fresh
``rawgwh sync`` process (fetch, raw zone, model, checks, publish) from the simulator,
alternating embedded and stack runs so load on the shared machine hits both; wall time
and peak RSS come from ``wait4``. Then the ten queries of ``benchmarks/queries`` run warm
in this process over each warehouse: embedded (local Parquet), and on the stack with S3
files read two ways, as Arrow datasets through pyarrow's S3 client (the default) and by
DuckDB through s3fs. A cold ``rawgwh query`` process is timed on each too.

Figures go to ``benchmarks/results/stack_<games>.{json,md}``. moto is a Python server, so
S3 here is slower than MinIO or AWS would be: read the stack figures as an upper bound.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._proc import ROOT, measure, rawgwh_cmd, simulator
from benchmarks.query_bench import QUERIES, RESULTS, _label, uptime

KEY = "bench-key-0000"


def _stack() -> Any:
    sys.path.insert(0, str(ROOT / "tests"))
    import stack

    return stack


def stack_config(info: Any, branch: str, folder: Path) -> tuple[Path, dict[str, str]]:
    """A rawgwh.toml for the stack on ``branch``, and the environment with its credentials."""
    config = folder / "rawgwh.toml"
    config.write_text(
        "\n".join(
            [
                f'warehouse = "s3://{info.bucket}/warehouse"',
                f'branch = "{branch}"',
                "[catalog]",
                'type = "rest"',
                f'uri = "{info.iceberg_uri}"',
                f'"s3.endpoint" = "{info.s3_endpoint}"',
                '"s3.path-style-access" = "true"',
                '"s3.region" = "us-east-1"',
            ]
        )
        + "\n"
    )
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": info.access_key,
        "AWS_SECRET_ACCESS_KEY": info.secret_key,
        "RAWG_API_KEY": KEY,
    }
    return config, env


def _settings(config: Path, env: dict[str, str]) -> Any:
    from rawgwh.settings import load_settings

    return load_settings(config_path=config, env=env)


def sync_runs(games: int, repeat: int, work: Path, info: Any, stack: Any) -> dict[str, Any]:
    """Alternate embedded and stack syncs; keep the last warehouse of each for queries."""
    runs: dict[str, list[dict[str, float]]] = {"embedded": [], "stack": []}
    last: dict[str, Any] = {}
    with simulator(games) as url:
        for i in range(repeat):
            for system in ("embedded", "stack"):
                folder = work / f"{system}-{i}"
                folder.mkdir(parents=True)
                if system == "embedded":
                    config = folder / "rawgwh.toml"
                    config.write_text(f'warehouse = "{folder / "wh"}"\n')
                    env = {**os.environ, "RAWG_API_KEY": KEY}
                else:
                    branch = f"bench/stack-{uuid.uuid4().hex[:8]}"
                    stack.create_branch(info, branch)
                    config, env = stack_config(info, branch, folder)
                env["RAWGWH_CONFIG"] = str(config)
                m = measure(rawgwh_cmd("sync", "--quiet", "--base-url", url), env=env)
                if m.returncode != 0:
                    raise SystemExit(f"{system} sync failed with exit code {m.returncode}")
                rate = games / m.seconds
                runs[system].append(
                    {"seconds": m.seconds, "games_per_s": rate, "peak_rss_mb": m.peak_rss_mb}
                )
                last[system] = (config, env)
                print(
                    f"sync {system} run {i + 1}: {m.seconds:.2f} s, {rate:,.0f} games/s, "
                    f"peak RSS {m.peak_rss_mb:,.0f} MB",
                    flush=True,
                )
    summary = {
        system: {
            "runs": r,
            "median_seconds": statistics.median(x["seconds"] for x in r),
            "median_games_per_s": statistics.median(x["games_per_s"] for x in r),
            "max_peak_rss_mb": max(x["peak_rss_mb"] for x in r),
        }
        for system, r in runs.items()
    }
    return {"summary": summary, "warehouses": last}


def query_runs(warehouses: dict[str, Any], runs: int) -> dict[str, Any]:
    """The ten queries warm over each warehouse (and S3 reader); answers must agree."""
    from rawgwh.query.warehouse import open_warehouse_engine

    setups = {
        "embedded": (warehouses["embedded"], "arrow"),
        "stack (S3 via Arrow)": (warehouses["stack"], "arrow"),
        "stack (S3 via s3fs)": (warehouses["stack"], "fsspec"),
    }
    out: dict[str, Any] = {}
    answers: dict[str, dict[str, Any]] = {}
    for label, ((config, env), reader) in setups.items():
        settings = _settings(config, env)
        started = time.perf_counter()
        engine = open_warehouse_engine(settings, remote_reader=reader)
        opened = time.perf_counter() - started
        per_query: dict[str, Any] = {}
        first_runs: dict[str, Any] = {}
        with engine:
            for path in sorted(QUERIES.glob("*.sql")):
                sql = path.read_text()
                t = time.perf_counter()
                result = engine.query(sql)  # warm-up: what a one-off query pays
                first_runs[path.stem] = round((time.perf_counter() - t) * 1000, 1)
                rows = [tuple(r.values()) for r in result.to_pylist()]
                answers.setdefault(path.stem, {})[label] = rows
                times = []
                for _ in range(runs):
                    t = time.perf_counter()
                    engine.query(sql)
                    times.append(time.perf_counter() - t)
                per_query[path.stem] = round(statistics.median(times) * 1000, 1)
        out[label] = {
            "open_ms": round(opened * 1000, 1),
            "median_ms": per_query,
            "first_ms": first_runs,
        }
        print(f"query {label}: open {opened * 1000:.0f} ms, {per_query}", flush=True)
    from benchmarks.compare.query import same_rows

    for name, by_label in answers.items():
        first = next(iter(by_label.values()))
        for label, rows in by_label.items():
            difference = same_rows(first, rows)
            if difference is not None:
                raise SystemExit(f"query {name}: {label} answers differently: {difference}")
    return out


def cold_runs(warehouses: dict[str, Any], runs: int) -> dict[str, float]:
    """Median wall time of a fresh ``rawgwh query`` process on each warehouse."""
    sql = "SELECT count(*) AS games FROM fact_games"
    out: dict[str, float] = {}
    for label, (config, env) in warehouses.items():
        cmd = rawgwh_cmd("query", sql, "--format", "csv", "--config", str(config))
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env=env)
            times.append(time.perf_counter() - t)
        out[label] = round(statistics.median(times) * 1000, 1)
        print(f"cold query {label}: {out[label]} ms", flush=True)
    return out


def markdown(figures: dict[str, Any]) -> str:
    games = figures["games"]
    sync = figures["sync"]
    lines = [
        f"# Embedded vs full stack, {games:,} games",
        "",
        f"Command: `{figures['command']}`. Load before: {figures['load_before']}; "
        f"after: {figures['load_after']}.",
        "",
        "## Sync (fetch, raw zone, model, checks, publish), median of "
        f"{len(sync['embedded']['runs'])}",
        "",
        "| | seconds | games/s | peak RSS MB |",
        "|---|---:|---:|---:|",
    ]
    for system, s in sync.items():
        lines.append(
            f"| {system} | {s['median_seconds']:.1f} | {s['median_games_per_s']:,.0f} "
            f"| {s['max_peak_rss_mb']:,.0f} |"
        )
    ratio = sync["stack"]["median_seconds"] / sync["embedded"]["median_seconds"]
    lines += ["", f"The stack sync takes {ratio:.2f}x the embedded time.", ""]
    queries = figures["queries"]
    labels = list(queries)
    lines += [
        f"## Ten queries, warm, median ms of {figures['runs']}",
        "",
        "| query | " + " | ".join(labels) + " |",
        "|---|" + "---:|" * len(labels),
    ]
    for name in queries[labels[0]]["median_ms"]:
        cells = [f"{queries[label]['median_ms'][name]:.1f}" for label in labels]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| open engine | " + " | ".join(f"{queries[x]['open_ms']:.0f}" for x in labels))
    totals = [sum(queries[x]["first_ms"].values()) for x in labels]
    lines.append("| ten first runs (total) | " + " | ".join(f"{t:.0f}" for t in totals))
    lines += [
        "",
        "Warm runs of a kept engine read tables from memory once a second query has read "
        "them (README, Querying); the first runs read the Parquet files, as a one-off "
        "`rawgwh query` does.",
    ]
    lines += ["", "## Cold `rawgwh query` process (count of fact_games), median ms", ""]
    for label, ms in figures["cold"].items():
        lines.append(f"- {label}: {ms:.0f} ms")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="syncs per system")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per query")
    args = parser.parse_args()
    stack = _stack()
    info = stack.ensure_started()
    load_before = uptime()
    with tempfile.TemporaryDirectory(prefix="rawgwh-stack-bench-") as tmp:
        synced = sync_runs(args.games, args.repeat, Path(tmp), info, stack)
        queries = query_runs(synced["warehouses"], args.runs)
        cold = cold_runs(synced["warehouses"], args.runs)
    figures = {
        "games": args.games,
        "runs": args.runs,
        "command": f"python -m benchmarks.stack_bench --games {args.games} "
        f"--repeat {args.repeat} --runs {args.runs}",
        "load_before": load_before,
        "load_after": uptime(),
        "sync": synced["summary"],
        "queries": queries,
        "cold": cold,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"stack_{_label(args.games)}"
    stem.with_suffix(".json").write_text(json.dumps(figures, indent=2))
    stem.with_suffix(".md").write_text(markdown(figures))
    print(markdown(figures))


if __name__ == "__main__":
    main()
