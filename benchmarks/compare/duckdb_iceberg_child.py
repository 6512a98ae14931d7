"""The ten queries through DuckDB's own Iceberg extension, in an isolated environment.

Run by ``benchmarks.compare.query`` as a script (it needs only the standard library and
the DuckDB 1.5.5 wheel with its extension packages; the other engines' child imports its
``peak_rss_mb`` and ``plain``), as

    uv run --isolated --no-project --with duckdb==1.5.5 \\
        --with duckdb-extension-iceberg==1.5.5 --with duckdb-extension-avro==1.5.5 \\
        python benchmarks/compare/duckdb_iceberg_child.py SPEC.json OUT.json

SPEC.json: ``{"tables": {name: {"metadata": path, "snapshot": id}}, "queries": {name:
sql}, "runs": N, "warmup": 1, "rows": bool}``. One connection; one view per star table over
``iceberg_scan`` at the published snapshot; each query runs ``warmup`` times then ``runs``
times, fetching every row. Writes one JSON object to OUT.json: timings, and the result
rows when ``rows`` is set.
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

# The extension wheels ship the binaries but do not register them: LOAD them by path, and
# never let DuckDB try to download anything (there is no network here).
EXTENSIONS = ("avro", "iceberg")  # iceberg reads its manifests with avro: load avro first


def extension_file(name: str) -> Path:
    module = importlib.import_module(f"duckdb_extension_{name}")
    found = sorted(Path(str(module.__file__)).parent.glob(f"extensions/*/{name}.duckdb_extension"))
    if not found:
        raise SystemExit(f"the duckdb-extension-{name} package has no {name}.duckdb_extension")
    return found[-1]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(tables: dict[str, dict[str, Any]]) -> Any:
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    for name in EXTENSIONS:
        con.execute(f"LOAD {literal(str(extension_file(name)))}")
    for name, spec in sorted(tables.items()):
        args = literal(str(spec["metadata"]))
        if spec.get("snapshot") is not None:
            args += f", snapshot_from_id = {int(spec['snapshot'])}"
        con.execute(f"CREATE VIEW {quote(name)} AS SELECT * FROM iceberg_scan({args})")
    return con


def peak_rss_mb() -> float:
    """This process's own peak RSS (``VmHWM``): unlike ``ru_maxrss`` it does not start from
    the RSS of the parent that forked it (exec keeps that as the floor of ``ru_maxrss``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource  # not Linux: the best there is

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def plain(value: Any) -> Any:
    """A JSON value: numbers stay numbers (decimals as floats), dates as ISO text."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    import duckdb

    started = time.perf_counter()
    con = connect(spec["tables"])
    out: dict[str, Any] = {
        "engine": "duckdb-iceberg",
        "version": duckdb.__version__,
        "setup_seconds": time.perf_counter() - started,
        "queries": {},
    }
    for name, sql in spec["queries"].items():
        first = time.perf_counter()
        cursor = con.execute(sql)
        result = cursor.fetchall()
        first = time.perf_counter() - first
        columns = [d[0] for d in cursor.description]
        for _ in range(int(spec.get("warmup", 1)) - 1):
            result = con.execute(sql).fetchall()
        seconds = []
        for _ in range(int(spec["runs"])):
            start = time.perf_counter()
            result = con.execute(sql).fetchall()
            seconds.append(time.perf_counter() - start)
        entry: dict[str, Any] = {
            "seconds": seconds,
            "first_seconds": first,
            "row_count": len(result),
        }
        if spec.get("rows"):
            entry["columns"] = columns
            entry["rows"] = [plain(list(r)) for r in result]
        out["queries"][name] = entry
    con.close()
    out["self_peak_rss_mb"] = peak_rss_mb()
    Path(sys.argv[2]).write_text(json.dumps(out))


if __name__ == "__main__":
    main()
