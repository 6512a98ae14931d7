"""Query engines on the same Iceberg tables: `rawgwh query`, DuckDB's Iceberg extension, Polars.

    python -m benchmarks query --sizes 10000,100000,1000000 --repeat 5

For each size, over one published warehouse (``common.published_warehouse``):

1. every engine runs the ten queries of ``benchmarks/queries`` once and the answers are
   compared (rows sorted by all columns, floats within a relative tolerance); a mismatch
   stops the run, naming the query and the engine;
2. ``repeat`` rounds, the engines' order rotating each round: each engine is a fresh child
   process (peak RSS by ``wait4``) that opens its engine once, runs each query once to warm
   up and once timed (fetching every row). So each query's figure is the median of
   ``repeat`` warm runs, and load on the machine hits every engine alike.

Engines: ``rawgwh`` (``open_warehouse_engine``, as ``rawgwh query`` runs), ``duckdb-iceberg``
(DuckDB 1.5.5 with the ``duckdb-extension-iceberg`` wheel, ``iceberg_scan`` at the published
snapshot, in an isolated environment: the project's DuckDB is newer than any packaged
extension), ``polars`` (``pl.scan_iceberg`` over pyiceberg tables in a ``pl.SQLContext``;
the queries Polars SQL cannot run are Polars expressions in ``query_engines.POLARS_BY_HAND``),
and ``dremio`` when ``DREMIO_URL`` is set (``benchmarks.compare.dremio``).

``duckdb-memory`` runs in the same rounds as a diagnostic, not a rival (no ratio, no target):
rawgwh's engine on the star tables loaded into DuckDB memory before timing. Its medians are
kept in rawgwh's ``all ten`` extra; the target notes use them to say how much of a slow
query's time is reading Parquet rather than executing.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks._proc import product_python
from benchmarks.compare import common
from benchmarks.compare.query_engines import POLARS_BY_HAND, load_queries, write_spec
from rawgwh.query import fastpath

__all__ = [
    "DUCKDB_ICEBERG",
    "AnswerMismatch",
    "compare_answers",
    "duckdb_iceberg_command",
    "run",
    "same_rows",
]

SYSTEMS = ("rawgwh", "duckdb-iceberg", "polars")
ALTERNATIVES = ("duckdb-iceberg", "polars")
TARGET_RATIO = 1.2
DUCKDB_VERSION = "1.5.5"
DUCKDB_ICEBERG = (
    f"duckdb=={DUCKDB_VERSION}",
    f"duckdb-extension-iceberg=={DUCKDB_VERSION}",
    f"duckdb-extension-avro=={DUCKDB_VERSION}",
)
CHILD = Path(__file__).with_name("duckdb_iceberg_child.py")
REL_TOL = 1e-6
ROUNDED_PLACES = 4  # the most decimals the queries round to
ALL_TEN = "all ten"
INNER_RUNS = 3  # timed runs of each query per child: the machine is shared and noisy
#: Not a rival: rawgwh's DuckDB on the star tables already in memory, run in the same rounds
#: to split rawgwh's time into reading Parquet and executing (``query_engines._duckdb_memory``).
MEMORY = "duckdb-memory"
DIAGNOSTICS = (MEMORY,)


class AnswerMismatch(Exception):
    """Two engines disagree on a query's answer."""


# --- answers ---------------------------------------------------------------------------


def _sort_key(row: Sequence[Any]) -> tuple[Any, ...]:
    """Rows sort the same whatever numeric type an engine returned (int, float, decimal)."""
    key: list[Any] = []
    for v in row:
        if v is None:
            key.append((0, 0, ""))
        elif isinstance(v, bool):
            key.append((1, int(v), ""))
        elif isinstance(v, int | float):
            key.append((1, float(v), ""))
        else:
            key.append((2, 0, str(v)))
    return tuple(key)


def _decimals(value: float) -> int:
    """Decimal places of the shortest repr of ``value`` (0 for whole numbers, or exponents)."""
    text = repr(value)
    if "e" in text or "." not in text:
        return 0
    return len(text.split(".")[1].rstrip("0"))


def _same_value(a: Any, b: Any, rel_tol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a == b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        x, y = float(a), float(b)
        if math.isclose(x, y, rel_tol=rel_tol, abs_tol=1e-12):
            return True
        # round(avg, 4) of an average on a tie (2.87075) may go either way: float sums in
        # another order land a hair above or below it. One unit in the last shown place of a
        # rounded value is the same answer; whole numbers (counts) must match exactly.
        places = max(_decimals(x), _decimals(y))
        return 0 < places <= ROUNDED_PLACES and abs(x - y) <= 10.0**-places * (1 + 1e-6)
    return bool(a == b)


def same_rows(
    left: Sequence[Sequence[Any]], right: Sequence[Sequence[Any]], rel_tol: float = REL_TOL
) -> str | None:
    """None when both hold the same rows in any order, else what differs (one line)."""
    if len(left) != len(right):
        return f"{len(left)} rows against {len(right)}"
    for i, (a, b) in enumerate(
        zip(sorted(left, key=_sort_key), sorted(right, key=_sort_key), strict=True)
    ):
        if len(a) != len(b):
            return f"sorted row {i}: {len(a)} columns against {len(b)}"
        if not all(_same_value(x, y, rel_tol) for x, y in zip(a, b, strict=True)):
            return f"sorted row {i}: {list(a)} against {list(b)}"
    return None


def compare_answers(
    answers: Mapping[str, Mapping[str, Mapping[str, Any]]],
    reference: str = "rawgwh",
    rel_tol: float = REL_TOL,
) -> None:
    """``answers[engine][query] = {"columns": [...], "rows": [...]}``: every engine must
    match ``reference`` on every query (column names too); raise :class:`AnswerMismatch`."""
    expected = answers[reference]
    for engine, results in answers.items():
        if engine == reference:
            continue
        for query, want in expected.items():
            got = results.get(query)
            if got is None:
                raise AnswerMismatch(f"{query}: {engine} returned no answer")
            if list(got["columns"]) != list(want["columns"]):
                raise AnswerMismatch(
                    f"{query}: {engine} returned columns {got['columns']}, "
                    f"{reference} {want['columns']}"
                )
            diff = same_rows(want["rows"], got["rows"], rel_tol)
            if diff is not None:
                raise AnswerMismatch(
                    f"{query}: {engine} disagrees with {reference}: {diff} "
                    f"({reference} first, sorted by all columns)"
                )


# --- running the engines ------------------------------------------------------------------


def _uv() -> str | None:
    return os.environ.get("UV") or shutil.which("uv")


def duckdb_iceberg_command(spec: Path, out: Path, *, offline: bool = True) -> list[str] | None:
    """The isolated-environment command running ``duckdb_iceberg_child.py``; None without uv."""
    uv = _uv()
    if uv is None:
        return None
    cmd = [uv, "run", "--quiet", "--isolated", "--no-project"]
    if offline:
        cmd.append("--offline")
    for requirement in DUCKDB_ICEBERG:
        cmd += ["--with", requirement]
    return [*cmd, "python", str(CHILD), str(spec), str(out)]


def prepare_duckdb_iceberg() -> str | None:
    """Fetch the isolated environment's packages once (later runs are offline): None when
    ready, else why DuckDB-iceberg cannot run."""
    uv = _uv()
    if uv is None:
        return "uv not found: it builds DuckDB 1.5.5's isolated environment"
    cmd = [uv, "run", "--quiet", "--isolated", "--no-project"]
    for requirement in DUCKDB_ICEBERG:
        cmd += ["--with", requirement]
    check = "import duckdb, duckdb_extension_iceberg, duckdb_extension_avro"
    done = subprocess.run([*cmd, "python", "-c", check], capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"cannot build the DuckDB {DUCKDB_VERSION} environment: {last}"
    return None


def engine_command(system: str, spec: Path, out: Path) -> list[str]:
    if system == "duckdb-iceberg":
        cmd = duckdb_iceberg_command(spec, out)
        if cmd is None:
            raise RuntimeError("uv not found")
        return cmd
    return [product_python(), "-m", "benchmarks.compare.query_engines", system, str(spec), str(out)]


def run_engine(system: str, spec: Path, out: Path) -> tuple[dict[str, Any], float, float]:
    """One child: its JSON output, wall seconds, peak RSS (MB, ``wait4``: never below this
    process's RSS when it forked, so the child's own ``self_peak_rss_mb`` is what counts)."""
    out.unlink(missing_ok=True)
    seconds, rss, code = common.measure_child(engine_command(system, spec, out))
    if code != 0 or not out.exists():
        raise RuntimeError(f"the {system} engine failed (exit {code}); its error is above")
    result: dict[str, Any] = json.loads(out.read_text())
    return result, seconds, rss


# --- the comparison ---------------------------------------------------------------------------


def _case(query: str) -> str:
    return "q" + query[:2]


def _rotated(systems: Sequence[str], round_: int) -> list[str]:
    k = round_ % len(systems)
    return [*systems[k:], *systems[:k]]


def verify(
    systems: Sequence[str], warehouse: Path, queries: Mapping[str, str], tmp: Path
) -> dict[str, Mapping[str, Mapping[str, Any]]]:
    """Every engine's answers to every query, checked against rawgwh's."""
    spec = write_spec(tmp / "verify.json", warehouse, queries, runs=0, rows=True)
    answers: dict[str, Mapping[str, Mapping[str, Any]]] = {}
    for system in systems:
        result, _, _ = run_engine(system, spec, tmp / f"verify-{system}.json")
        answers[system] = result["queries"]
    compare_answers(answers)
    return answers


def _dremio_timings(
    section: common.Section,
    size: int,
    dremio: Any,
    queries: Mapping[str, str],
    ours: Mapping[str, Mapping[str, Any]],
    repeat: int,
) -> dict[str, list[float]]:
    """Dremio's answers checked like the others', then its timings; a Dremio that fails or
    disagrees is reported as not run (its own tables may differ), not fatal."""
    from benchmarks.compare.dremio import DremioError

    try:
        compare_answers({"rawgwh": ours, "dremio": dremio.answers(queries)})
        timings: dict[str, list[float]] = dremio.timings(queries, repeat)
    except (DremioError, AnswerMismatch) as e:
        section.not_run["dremio"] = f"at {size:,} games: {e}"
        return {}
    return timings


def measure_size(
    section: common.Section,
    size: int,
    systems: Sequence[str],
    repeat: int,
    workdir: Path,
    dremio: Any = None,
    *,
    inner_runs: int = INNER_RUNS,
) -> None:
    """Check the answers at ``size``, then ``repeat`` interleaved rounds of every engine,
    each child timing every query ``inner_runs`` times after its warm-up."""
    warehouse = common.published_warehouse(size, workdir)
    queries = load_queries()
    systems = [*systems, *DIAGNOSTICS]
    fact_files = len(fastpath.latest_tables(warehouse).files["fact_games"])
    with tempfile.TemporaryDirectory(prefix="rawgwh-query-") as folder:
        tmp = Path(folder)
        answers = verify(systems, warehouse, queries, tmp)
        rows = {q: len(a["rows"]) for q, a in answers["rawgwh"].items()}
        print(f"{size:,} games: all engines agree on the ten queries", flush=True)
        spec = write_spec(tmp / "timed.json", warehouse, queries, runs=inner_runs, warmup=1)
        timed: dict[str, dict[str, list[float]]] = {s: {q: [] for q in queries} for s in systems}
        whole: dict[str, dict[str, list[float]]] = {
            s: {"total": [], "first": [], "rss": [], "child": [], "setup": []} for s in systems
        }
        versions: dict[str, str] = {}
        for round_ in range(repeat):
            for system in _rotated(systems, round_):
                result, seconds, _ = run_engine(system, spec, tmp / f"timed-{system}.json")
                versions[system] = str(result.get("version", ""))
                for q, entry in result["queries"].items():
                    timed[system][q].extend(entry["seconds"])
                whole[system]["total"].append(
                    sum(statistics.median(e["seconds"]) for e in result["queries"].values())
                )
                whole[system]["first"].append(
                    sum(e["first_seconds"] for e in result["queries"].values())
                )
                # the child's own VmHWM: wait4's ru_maxrss starts from this (large) parent's
                whole[system]["rss"].append(result["self_peak_rss_mb"])
                whole[system]["child"].append(seconds)
                whole[system]["setup"].append(result["setup_seconds"])
            print(f"  round {round_ + 1}/{repeat} done", flush=True)
    if dremio is not None and "dremio" not in section.not_run:
        found = _dremio_timings(section, size, dremio, queries, answers["rawgwh"], repeat)
        if found:
            timed["dremio"] = found
    diagnostics = {d: (timed.pop(d), whole.pop(d)["total"]) for d in DIAGNOSTICS}
    for system, per_query in timed.items():
        for q, runs in per_query.items():
            extra = {"query": q, "rows": rows[q]}
            section.samples.append(common.Sample(system, _case(q), size, runs, [], extra))
    for system, w in whole.items():
        extra = {
            "first_runs_total_ms": round(statistics.median(w["first"]) * 1000, 1),
            "child_seconds": w["child"],
            "setup_seconds": w["setup"],
            "engine_version": versions.get(system, ""),
        }
        if system == "rawgwh":
            for diagnostic, (per_query, totals) in diagnostics.items():
                key = diagnostic.replace("-", "_")
                extra[f"{key}_ms"] = {
                    _case(q): round(statistics.median(v) * 1000, 2) for q, v in per_query.items()
                }
                extra[f"{key}_total_ms"] = round(statistics.median(totals) * 1000, 2)
            extra["fact_games_files"] = fact_files
        section.samples.append(common.Sample(system, ALL_TEN, size, w["total"], w["rss"], extra))


def _median_ms(sample: common.Sample | None) -> float | None:
    return None if sample is None else sample.median_seconds * 1000


def target_notes(section: common.Section, systems: Sequence[str]) -> list[str]:
    """Per size: the queries where rawgwh is over 1.2x the faster rival, with the figures
    and what DuckDB takes on the same tables already in memory (the diagnostic run)."""
    rivals = [s for s in ALTERNATIVES if s in systems]
    notes = []
    for size in sorted({s.size for s in section.samples}):
        whole = section.sample("rawgwh", ALL_TEN, size)
        in_memory: dict[str, float] = whole.extra.get("duckdb_memory_ms", {}) if whole else {}
        missed, worst = [], (0.0, "")
        for case in sorted({s.case for s in section.samples if s.size == size}):
            ours = section.sample("rawgwh", case, size)
            theirs = [t for r in rivals if (t := section.sample(r, case, size))]
            if ours is None or not theirs:
                continue
            best = min(theirs, key=lambda t: t.median_seconds)
            ratio = ours.median_seconds / best.median_seconds
            worst = max(worst, (ratio, case))
            if ratio > TARGET_RATIO:
                ours_ms = ours.median_seconds * 1000
                detail = (
                    f"{case} {ours_ms:.1f} ms vs {best.system} "
                    f"{best.median_seconds * 1000:.1f} ms ({ratio:.2f}x"
                )
                if case in in_memory:
                    detail += "; " + _reading_share(ours_ms, in_memory[case])
                missed.append(detail + ")")
        if missed:
            notes.append(
                f"{size:,} games: rawgwh over {TARGET_RATIO}x the faster rival on "
                + "; ".join(missed)
            )
        elif worst[1]:
            notes.append(
                f"{size:,} games: rawgwh within {TARGET_RATIO}x of the faster rival on every "
                f"query (least favourable {worst[1]} at {worst[0]:.2f}x)"
            )
    return notes


def _reading_share(ours_ms: float, in_memory_ms: float) -> str:
    """What the in-memory run says about a query rawgwh ran in ``ours_ms``."""
    text = f"DuckDB on tables already in memory {in_memory_ms:.1f} ms"
    share = 1 - in_memory_ms / ours_ms
    if share <= 0:
        return text + ": none of rawgwh's time is reading Parquet, it is all execution"
    return text + f": {share:.0%} of rawgwh's time is reading Parquet"


def draw_charts(section: common.Section, systems: Sequence[str]) -> list[Path]:
    """Median ms per query per engine (one grouped bar chart per size), and the ten's total
    time and each child's peak RSS against size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    shown = [s for s in (*systems, "dremio") if any(x.system == s for x in section.samples)]
    for size in sorted({s.size for s in section.samples}):
        cases = sorted({s.case for s in section.samples if s.size == size and s.case != ALL_TEN})
        fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
        width = 0.8 / max(len(shown), 1)
        for i, system in enumerate(shown):
            values = [_median_ms(section.sample(system, c, size)) or 0.0 for c in cases]
            xs = [k + (i - (len(shown) - 1) / 2) * width for k in range(len(cases))]
            ax.bar(xs, values, width, label=system)
        ax.set_xticks(range(len(cases)), cases)
        ax.set_xlabel("benchmark query (benchmarks/queries/NN_*.sql)")
        ax.set_ylabel("median ms (warm, lower is better)")
        ax.set_title(f"The ten queries at {size:,} games")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = common.CHARTS / f"query_per_query_{size}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    totals = {
        s: [
            (x.size, x.median_seconds * 1000)
            for x in section.samples
            if (x.system, x.case) == (s, ALL_TEN)
        ]
        for s in systems
    }
    paths.append(
        common.line_chart(
            common.CHARTS / "query_total.png",
            "The ten queries, warm: median total per round",
            "ms for all ten (lower is better)",
            totals,
        )
    )
    rss = {
        s: [
            (x.size, x.median_rss_mb or 0.0)
            for x in section.samples
            if (x.system, x.case) == (s, ALL_TEN) and x.peak_rss_mb
        ]
        for s in systems
    }
    paths.append(
        common.line_chart(
            common.CHARTS / "query_peak_rss.png",
            "Peak memory of a process running the ten queries",
            "peak RSS MB (lower is better)",
            rss,
            logy=False,
        )
    )
    return paths


def _load_note(machine: Mapping[str, Any]) -> str:
    before = machine.get("load_average", [0.0])[0]
    after = os.getloadavg()[0]
    return (
        f"Load average (1 min) {before:.1f} before and {after:.1f} after the run on "
        f"{machine.get('cpu_count')} cores: whatever else ran on the machine hit every engine "
        "alike (interleaved rounds), but absolute times are higher than on an idle machine."
    )


def run(sizes: Sequence[int], repeat: int, workdir: Path) -> common.Section:
    """The query comparison at each size (see the module docstring)."""
    from benchmarks.compare import dremio as dremio_harness

    section = common.Section(
        name="query",
        title="Queries vs DuckDB's Iceberg extension, Polars and Dremio",
        command=f"python -m benchmarks query --sizes {','.join(map(str, sizes))} --repeat {repeat}",
        started=common.now(),
        machine=common.machine_info(),
    )
    systems = list(SYSTEMS)
    why_not = prepare_duckdb_iceberg()
    if why_not is not None:
        systems.remove("duckdb-iceberg")
        section.not_run["duckdb-iceberg"] = why_not
    client = dremio_harness.from_env()
    if client is None:
        section.not_run["dremio"] = "DREMIO_URL not set"
    section.machine["duckdb_iceberg"] = f"DuckDB {DUCKDB_VERSION} + " + ", ".join(
        DUCKDB_ICEBERG[1:]
    )
    for size in sizes:
        measure_size(section, size, systems, repeat, workdir, client)
    section.notes += [
        f"Each engine is a fresh child process per round ({repeat} rounds, engine order "
        "rotating): it opens its engine once, runs each query once to warm up and then "
        f"{INNER_RUNS} times timed, fetching every row. Per-query figures are the median of "
        f"all {repeat * INNER_RUNS} timed runs; '{ALL_TEN}' is, per round, the sum of the "
        "ten queries' medians in that child, with the child's peak RSS "
        "and, in extra, the child's wall time and engine setup time. Peak RSS is the child's "
        "own VmHWM (/proc/self/status), not wait4's ru_maxrss: Linux keeps the forking "
        "parent's RSS as the floor of a child's ru_maxrss across exec, and this parent has "
        "just published the warehouse (a 13 MB child of an 800 MB parent reports 813 MB).",
        "All engines returned the same rows (sorted by all columns, floats within a "
        f"relative {REL_TOL:g}, or one unit in the last place of a value the query rounds, "
        "where an average sits on a rounding tie and float sums in another order round it "
        "the other way) on every query at every size before timing.",
        "DuckDB-iceberg: DuckDB 1.5.5 (the newest with packaged extensions; rawgwh uses "
        "DuckDB 2.0.1) in an isolated uv environment, one view per star table over "
        "iceberg_scan(metadata.json, snapshot_from_id = the published snapshot).",
        "Polars: pl.scan_iceberg over pyiceberg tables (POLARS_ICEBERG_PLANNER=pyiceberg; "
        "the optional polars-iceberg planner plugin is not installed) in a pl.SQLContext; "
        f"Polars SQL cannot run {', '.join(sorted(POLARS_BY_HAND))}, so those are hand-written "
        "Polars expressions of the same algorithm (benchmarks/compare/query_engines.py).",
        "rawgwh's engine, kept open, loads a small table into memory the second time a "
        "query reads it (README, Querying): its warm-up runs read Parquet, and so does a "
        "one-off `rawgwh query`. Each engine's first runs of the ten queries, the warm-up "
        "in that child, total first_runs_total_ms (median of the rounds) in its "
        f"'{ALL_TEN}' extra.",
        "DuckDB-memory, a diagnostic and no rival: rawgwh's engine (the same DuckDB, sandbox "
        "and read-only check) on the star tables loaded into DuckDB memory before timing, in "
        "the same rounds; its per-query medians (duckdb_memory_ms in rawgwh's "
        f"'{ALL_TEN}' extra) are query execution without reading Parquet.",
        *target_notes(section, systems),
        _load_note(section.machine),
    ]
    draw_charts(section, systems)
    section.finished = common.now()
    return section


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, common.SIZES)))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=common.WORKDIR)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    section = run(sizes, args.repeat, args.workdir)
    print(f"saved {common.save(section)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
