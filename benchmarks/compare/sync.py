"""Sync: rawgwh against dlt's REST API source on the same simulator (issue 5, item 2).

    python -m benchmarks sync --sizes 10000,100000,1000000 --repeat 5

Each round builds a fresh simulator (same seed, so every round starts from the same
catalogue) in this process, serves it on loopback, and runs one tool as a child process:
a full sync into an empty folder, then ``touch`` of 1% of the games, then that tool's
incremental sync. The simulator's own counter gives the requests of each child. After
every run the games on disk (latest version per id) must equal the simulator's, or the
benchmark fails. Rounds alternate which tool goes first, so load noise hits both.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from benchmarks._proc import rawgwh_cmd
from benchmarks.compare.common import (
    CHARTS,
    Sample,
    Section,
    line_chart,
    machine_info,
    measure_child,
    now,
    save,
)

__all__ = [
    "API_KEY",
    "Comparison",
    "DltTarget",
    "RawgwhTarget",
    "Run",
    "comparisons",
    "run",
    "summarise",
    "sync_round",
]

RAWGWH, DLT = "rawgwh", "dlt"
FULL, INCREMENTAL = "full sync", "incremental sync"
SEED = 7
CHANGED_SHARE = 0.01
CHANGED_SEED = 1  # the same games change in every round, for both tools
# Made up, not a secret: the simulator requires it so both tools pay for sending it.
API_KEY = "bench-key-not-secret"
# A dlt run expected to take longer than this gets one timed run and no warm-up.
SLOW_RUN_SECONDS = 8 * 60
# dlt's Iceberg `merge` is tried once, at this size or below (it upserts 1,000 rows at a time).
ICEBERG_MAX_GAMES = 10_000


@dataclass(frozen=True)
class Run:
    """One timed child process and what it left behind."""

    seconds: float
    peak_rss_mb: float
    requests: int
    games: int  # latest versions on disk after the run (= the simulator's games)
    rows_added: int  # rows this run added to the games table
    disk: dict[str, tuple[int, int]]  # folder role -> (bytes, files)

    @property
    def disk_bytes(self) -> int:
        return sum(b for b, _ in self.disk.values())

    @property
    def disk_files(self) -> int:
        return sum(f for _, f in self.disk.values())


class Target(Protocol):
    """A tool's destination folders: how to run it and read back what it landed."""

    name: str

    def command(self, url: str, *, incremental: bool) -> list[str]: ...
    def env(self) -> dict[str, str]: ...
    def latest(self) -> pa.Table: ...  # id, updated (epoch seconds), one row per id
    def rows(self) -> int: ...
    def folders(self) -> dict[str, Path]: ...
    def check_mode(self, incremental: bool) -> None: ...


def _child_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RAWG", "DLT", "RUNTIME__", "DESTINATION__", "SOURCES__"))
    }
    env["RAWG_API_KEY"] = API_KEY
    env.update(extra)
    return env


def epoch_seconds(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """``updated`` as int64 epoch seconds, whether stored as text or as a timestamp."""
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = pc.strptime(pc.utf8_slice_codeunits(col, 0, 19), "%Y-%m-%dT%H:%M:%S", "s")
    if pa.types.is_timestamp(col.type):
        if col.type.tz is not None:
            col = col.cast(pa.timestamp(col.type.unit))
        col = col.cast(pa.timestamp("s"))
    return pc.cast(col, pa.int64())


def latest_versions(table: pa.Table) -> pa.Table:
    """One row per id with its latest ``updated`` (epoch seconds), sorted by id."""
    t = pa.table(
        {"id": pc.cast(table["id"], pa.int64()), "updated": epoch_seconds(table["updated"])}
    )
    out = t.group_by("id").aggregate([("updated", "max")]).rename_columns(["id", "updated"])
    return out.sort_by("id")


def truth(sim: Any) -> pa.Table:
    """The simulator's live games: id and ``updated`` (epoch seconds), sorted by id."""
    cat = sim.catalog
    with cat.lock:
        ids = pa.array(cat.ids, pa.int64())
        updated = pa.array(cat.updated, pa.int64())
        alive = pc.not_equal(pa.array(bytes(cat.alive), pa.uint8()), 0)
    return pa.table({"id": ids, "updated": updated}).filter(alive).sort_by("id")


def check_same(expected: pa.Table, got: pa.Table, system: str) -> None:
    """Fail unless ``got`` holds exactly the expected games at their latest versions."""
    if expected.equals(got):
        return
    want = dict(zip(expected["id"].to_pylist(), expected["updated"].to_pylist(), strict=True))
    have = dict(zip(got["id"].to_pylist(), got["updated"].to_pylist(), strict=True))
    missing = len(want.keys() - have.keys())
    extra = len(have.keys() - want.keys())
    stale = sum(1 for k, v in want.items() if k in have and have[k] != v)
    raise RuntimeError(
        f"{system} landed {len(have):,} games, the simulator has {len(want):,}: "
        f"{missing:,} missing, {extra:,} unexpected, {stale:,} at an old version"
    )


def disk_usage(path: Path) -> tuple[int, int]:
    """Apparent bytes and file count under ``path``."""
    size = files = 0
    for root, _, names in os.walk(path):
        for name in names:
            p = Path(root, name)
            if not p.is_symlink():
                size += p.stat().st_size
                files += 1
    return size, files


class RawgwhTarget:
    """``rawgwh sync --raw-only`` into one warehouse folder."""

    name = RAWGWH

    def __init__(self, root: Path) -> None:
        self.warehouse = root / "warehouse"

    def command(self, url: str, *, incremental: bool) -> list[str]:
        # The same command both times: the watermark makes the second run incremental.
        return rawgwh_cmd(
            "sync", "--quiet", "--raw-only", "--base-url", url, "--warehouse", str(self.warehouse)
        )

    def env(self) -> dict[str, str]:
        return _child_env()

    def _zone(self) -> Any:
        from rawgwh.settings import Settings
        from rawgwh.warehouse.catalog import Warehouse
        from rawgwh.warehouse.raw_zone import RawZone

        return RawZone(Warehouse.open(Settings(warehouse=str(self.warehouse))), create=False)

    def latest(self) -> pa.Table:
        return latest_versions(
            self._zone().games.scan(selected_fields=("id", "updated")).to_arrow()
        )

    def rows(self) -> int:
        return int(self._zone().count())

    def folders(self) -> dict[str, Path]:
        return {"warehouse": self.warehouse}

    def check_mode(self, incremental: bool) -> None:
        last = self._zone().state().last
        want = "incremental" if incremental else "backfill"
        if last is None or last.mode != want:
            raise RuntimeError(f"rawgwh ran a {last.mode if last else 'no'} sync, not {want}")


class DltTarget:
    """``benchmarks.baselines.dlt_pipeline`` with its destination and state folders."""

    name = DLT

    def __init__(self, root: Path, table_format: str = "parquet") -> None:
        self.dest = root / "dest"
        self.pipelines = root / "pipelines"
        self.home = root / "dlt-home"
        self.table_format = table_format

    def command(self, url: str, *, incremental: bool) -> list[str]:
        return [
            sys.executable,
            "-m",
            "benchmarks.baselines.dlt_pipeline",
            "--base-url",
            url,
            "--dest",
            str(self.dest),
            "--pipelines-dir",
            str(self.pipelines),
            "--table-format",
            self.table_format,
            *(["--incremental"] if incremental else []),
        ]

    def env(self) -> dict[str, str]:
        # No telemetry, no global folder under $HOME; warnings about untyped empty columns off.
        return _child_env(
            RUNTIME__DLTHUB_TELEMETRY="false",
            RUNTIME__LOG_LEVEL="ERROR",
            DLT_DATA_DIR=str(self.home),
        )

    def _games(self, columns: Sequence[str]) -> pa.Table:
        import pyarrow.parquet as pq

        folder = self.dest / "rawg" / "games"
        if self.table_format == "iceberg":
            from pyiceberg.table import StaticTable

            meta = sorted((folder / "metadata").glob("*.metadata.json"), key=_metadata_version)
            table = StaticTable.from_metadata(str(meta[-1]))
            return table.scan(selected_fields=tuple(columns)).to_arrow()
        files = sorted(folder.glob("*.parquet"))
        return pa.concat_tables([pq.read_table(f, columns=list(columns)) for f in files])

    def latest(self) -> pa.Table:
        return latest_versions(self._games(("id", "updated")))

    def rows(self) -> int:
        return int(self._games(("id",)).num_rows)

    def folders(self) -> dict[str, Path]:
        return {"dest": self.dest, "pipelines": self.pipelines, "dlt-home": self.home}

    def check_mode(self, incremental: bool) -> None:
        return  # the dlt script refuses --incremental without an earlier run, and vice versa


def _metadata_version(path: Path) -> int:
    head = path.name.split("-", 1)[0]
    return int(head) if head.isdigit() else -1


def timed(target: Target, url: str, sim: Any, *, incremental: bool) -> Run:
    """Run ``target`` once as a child; check what it landed against the simulator."""
    before = target.rows() if incremental else 0
    sim.stats.reset()
    # The child's own peak (VmHWM), not this process's: it holds the simulator.
    seconds, rss, code = measure_child(
        list(target.command(url, incremental=incremental)), dict(target.env())
    )
    requests = sim.stats.requests
    if code != 0:
        raise RuntimeError(f"{target.name} {'incremental' if incremental else 'full'} sync "
                           f"failed with exit code {code}")  # fmt: skip
    target.check_mode(incremental)
    got = target.latest()
    check_same(truth(sim), got, target.name)
    disk = {role: disk_usage(p) for role, p in target.folders().items() if p.exists()}
    return Run(seconds, rss, requests, got.num_rows, target.rows() - before, disk)


def sync_round(
    make: Callable[[Path], Target],
    games: int,
    root: Path,
    *,
    changed_seed: int = CHANGED_SEED,
    keep: bool = False,
) -> tuple[Run, Run, int]:
    """A full sync, 1% of the games changed, an incremental sync: ``(full, incr, changed)``."""
    from rawgwh.source.simulator import Simulator

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    target = make(root)
    sim = Simulator.synthetic(games, seed=SEED)
    try:
        with sim.serve(api_key=API_KEY) as url:
            full = timed(target, url, sim, incremental=False)
            changed = len(sim.touch(max(1, round(games * CHANGED_SHARE)), seed=changed_seed))
            incr = timed(target, url, sim, incremental=True)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return full, incr, changed


def to_sample(system: str, case: str, size: int, runs: Sequence[Run], changed: int = 0) -> Sample:
    """The timed runs of one system, case and size as a report sample."""
    requests = sorted({r.requests for r in runs})
    games = changed if case == INCREMENTAL else size
    extra: dict[str, Any] = {
        "requests": int(statistics.median(r.requests for r in runs)),
        "games_per_s": round(statistics.median(games / r.seconds for r in runs)),
        "disk_bytes": int(statistics.median(r.disk_bytes for r in runs)),
        "disk_files": int(statistics.median(r.disk_files for r in runs)),
    }
    if len(requests) > 1:
        extra["requests_range"] = [requests[0], requests[-1]]
    if case == INCREMENTAL:
        extra["changed"] = changed
        extra["rows_added"] = int(statistics.median(r.rows_added for r in runs))
    roles = sorted({role for r in runs for role in r.disk})
    if len(roles) > 1:
        for role in roles:
            extra[f"{role}_bytes"] = int(
                statistics.median(r.disk.get(role, (0, 0))[0] for r in runs)
            )
    return Sample(
        system=system,
        case=case,
        size=size,
        seconds=[r.seconds for r in runs],
        peak_rss_mb=[r.peak_rss_mb for r in runs],
        extra=extra,
    )


@dataclass(frozen=True)
class Comparison:
    """rawgwh against dlt for one case and size, from the medians."""

    case: str
    size: int
    rawgwh_seconds: float
    dlt_seconds: float
    rawgwh_requests: int
    dlt_requests: int
    rawgwh_rss_mb: float | None
    dlt_rss_mb: float | None

    @property
    def speedup(self) -> float:
        """How many times faster rawgwh is (below 1: slower)."""
        return self.dlt_seconds / self.rawgwh_seconds

    @property
    def target_met(self) -> bool:
        """Issue 5: full sync at least 3x faster, with fewer or equal requests."""
        return self.speedup >= 3 and self.rawgwh_requests <= self.dlt_requests


def comparisons(samples: Iterable[Sample]) -> list[Comparison]:
    """Every (case, size) with samples from both systems, in case then size order."""
    index = {(s.system, s.case, s.size): s for s in samples}
    out = []
    for case, size in sorted({(c, n) for _, c, n in index}, key=lambda k: (k[0] != FULL, k)):
        ours, theirs = index.get((RAWGWH, case, size)), index.get((DLT, case, size))
        if ours is None or theirs is None:
            continue
        out.append(
            Comparison(
                case=case,
                size=size,
                rawgwh_seconds=ours.median_seconds,
                dlt_seconds=theirs.median_seconds,
                rawgwh_requests=int(ours.extra["requests"]),
                dlt_requests=int(theirs.extra["requests"]),
                rawgwh_rss_mb=ours.median_rss_mb,
                dlt_rss_mb=theirs.median_rss_mb,
            )
        )
    return out


def summarise(samples: Iterable[Sample]) -> list[str]:
    """One line per compared case and size, with the target verdict for full syncs."""
    lines = []
    for c in comparisons(samples):
        mem = ""
        if c.rawgwh_rss_mb is not None and c.dlt_rss_mb is not None:
            mem = f"; peak RSS {c.rawgwh_rss_mb:,.0f} vs {c.dlt_rss_mb:,.0f} MB"
        line = (
            f"{c.case}, {c.size:,} games: rawgwh {c.rawgwh_seconds:.2f} s vs dlt "
            f"{c.dlt_seconds:.2f} s = {c.speedup:.2f}× faster; requests "
            f"{c.rawgwh_requests:,} vs {c.dlt_requests:,}{mem}"
        )
        if c.case == FULL:
            line += f" — target (≥ 3×, requests ≤ dlt's) {'met' if c.target_met else 'NOT met'}"
        lines.append(line)
    return lines


def _dlt_runs(size: int, rate: float | None, repeat: int) -> tuple[int, int, float | None]:
    """``(warmups, timed runs, estimated seconds)`` for dlt at ``size`` games."""
    estimate = size / rate if rate else None
    if estimate is not None and estimate > SLOW_RUN_SECONDS:
        return 0, 1, estimate
    return 1, repeat, estimate


def slow_note(size: int, rate: float | None, took: float, repeat: int) -> str:
    """Why dlt had a single run at ``size``, with the estimate and what it really took."""
    estimate = size / rate if rate else float("nan")
    return (
        f"dlt at {size:,} games: one timed run, no warm-up — at the {rate or 0:,.0f} games/s of "
        f"its previous size one full sync was estimated at {estimate:,.0f} s (over "
        f"{SLOW_RUN_SECONDS // 60} minutes); it took {took:,.0f} s. rawgwh had 1 warm-up + "
        f"{repeat} runs at every size."
    )


def run(sizes: Sequence[int], repeat: int, workdir: Path) -> Section:
    """Full and incremental sync of rawgwh and dlt at each size; charts; notes."""
    section = Section(
        name="sync",
        title="Sync: rawgwh vs dlt's REST API source (full and incremental)",
        command="",
        started=now(),
        machine=machine_info(),
    )
    scratch = workdir / "sync"
    dlt_rate: float | None = None  # games/s of dlt's full sync at the last size measured
    for size in sorted(sizes):
        dlt_warmups, dlt_timed, estimate = _dlt_runs(size, dlt_rate, repeat)
        rounds = 1 + repeat
        dlt_rounds = set(range(rounds)) if dlt_warmups else {1 + repeat // 2}
        results: dict[str, list[tuple[Run, Run, int]]] = {RAWGWH: [], DLT: []}
        for i in range(rounds):
            order = [RAWGWH, DLT] if i % 2 == 0 else [DLT, RAWGWH]
            for system in order:
                if system == DLT and i not in dlt_rounds:
                    continue
                make: Callable[[Path], Target] = RawgwhTarget if system == RAWGWH else DltTarget
                full, incr, changed = sync_round(make, size, scratch / f"{system}-{size}")
                warm = i == 0 and (system == RAWGWH or dlt_warmups > 0)
                tag = "warm-up" if warm else f"run {len(results[system]) + 1}"
                print(
                    f"sync {size:,} {system} {tag}: full {full.seconds:.1f} s "
                    f"({full.requests:,} requests, {full.peak_rss_mb:,.0f} MB), "
                    f"incremental {incr.seconds:.1f} s ({incr.requests:,} requests)",
                    flush=True,
                )
                if not warm:
                    results[system].append((full, incr, changed))
        for system, rs in results.items():
            changed = rs[0][2]
            section.samples.append(to_sample(system, FULL, size, [r[0] for r in rs]))
            section.samples.append(
                to_sample(system, INCREMENTAL, size, [r[1] for r in rs], changed)
            )
        if dlt_timed < repeat:
            section.notes.append(slow_note(size, dlt_rate, results[DLT][0][0].seconds, repeat))
        section.notes.append(_windowed_dlt_note(size, int(results[DLT][0][0].requests)))
        dlt_rate = size / statistics.median(r[0].seconds for r in results[DLT])
        _checkpoint(section, f"partial: sizes up to {size:,} done, the run went on")
    if sizes and min(sizes) <= ICEBERG_MAX_GAMES:
        section.notes.append(_iceberg_note(min(sizes), scratch / "dlt-iceberg"))
    section.notes[:0] = [*summarise(section.samples), *_method_notes()]
    _charts(section.samples)
    section.finished = now()
    return section


def yearly_window_requests(
    released_days: Sequence[int | None], page_size: int = 40
) -> dict[str, int]:
    """What dlt's page-number paginator requests over one ``dates`` window per year.

    That is the simplest way to honour RAWG_API.md's "split large windows" with a static
    dlt config: each year with games costs its pages plus the 404 past the last one, an
    empty year one request. ``released_days`` are days since 1970 (None: undated, which no
    ``dates`` window selects).
    """
    from collections import Counter
    from datetime import date, timedelta

    epoch = date(1970, 1, 1)
    years = Counter((epoch + timedelta(days=d)).year for d in released_days if d is not None)
    undated = sum(1 for d in released_days if d is None)
    if not years:
        return {"requests": 0, "windows": 0, "undated": undated}
    span = range(min(years), max(years) + 1)
    requests = sum(-(-years[y] // page_size) + 1 if years[y] else 1 for y in span)
    return {"requests": requests, "windows": len(span), "undated": undated}


def _windowed_dlt_note(size: int, dlt_requests: int) -> str:
    """The requests a contract-following (windowed) dlt config would make at ``size``."""
    from rawgwh.source.simulator import Simulator
    from rawgwh.source.simulator.catalog import NULL_DAY

    cat = Simulator.synthetic(size, seed=SEED).catalog
    days = [None if d == NULL_DAY else d for d, a in zip(cat.released, cat.alive, strict=True) if a]
    w = yearly_window_requests(days)
    return (
        f"Requests with windows, {size:,} games: dlt as configured walks one window "
        f"({dlt_requests:,} requests). Configured instead with one `dates` window per year "
        f"({w['windows']} years from the first release year to the last), its paginator would "
        f"make {w['requests']:,} requests (computed from the catalogue: pages plus the 404 "
        f"after each window's last page; not run) and still miss the {w['undated']:,} undated "
        "games, which no date window selects."
    )


def _checkpoint(section: Section, remark: str) -> None:
    """Save what is measured so far, so a crash at a large size keeps the smaller ones."""
    partial = replace(
        section,
        command="python -m benchmarks sync (interrupted)",
        notes=[remark, *summarise(section.samples), *section.notes],
    )
    save(partial)


def _iceberg_note(size: int, root: Path) -> str:
    """One full and one incremental dlt run with ``table_format="iceberg"`` and merge."""
    try:
        full, incr, changed = sync_round(
            lambda r: DltTarget(r, "iceberg"), size, root, changed_seed=99
        )
    except Exception as e:  # reported, not fatal: it is a side question
        return f'dlt with table_format="iceberg" (merge) at {size:,} games failed: {e}'
    return (
        f'dlt with table_format="iceberg" and write_disposition="merge" works offline '
        f"(pyiceberg, in-memory SQLite catalog): at {size:,} games one full sync took "
        f"{full.seconds:.1f} s ({full.peak_rss_mb:,.0f} MB) and an incremental sync of {changed:,} "
        f"changed games {incr.seconds:.1f} s, games on disk checked. One run each, not in the "
        f"tables: its upsert goes 1,000 rows at a time and re-reads the table each time, so the "
        f"comparison uses dlt's plain Parquet files (append), which scale."
    )


def _method_notes() -> list[str]:
    notes = [
        "Same simulator for both: synthetic, seed 7, served from a thread of the benchmark "
        "process on loopback with an API key required; each tool runs as its own child "
        "process (peak RSS is that child's alone, via wait4).",
        "HTTP requests are the simulator's own count (its Stats.requests, reset before each "
        "child): `rawgwh simulate` does not expose it, so the simulator runs in-process.",
        "Incremental: between the full and the incremental sync the benchmark calls the "
        "simulator's touch() on 1% of the games (new `updated`, rating, added). Each round "
        "starts a fresh simulator with the same seed, so rounds are identical; reusing one "
        "would make rawgwh re-read earlier rounds' changes (its watermark keeps a 1-hour margin "
        "for clock skew, far shorter than real gaps between syncs but longer than a round).",
        "Correctness: after every run the latest version of each game on disk (rawgwh's "
        "raw.games, dlt's games Parquet files) must equal the simulator's (id, updated) exactly, "
        "or the benchmark fails; both tools landed the same games in every run.",
        "dlt configuration (benchmarks/baselines/dlt_pipeline.py): rest_api_source, page_number "
        "paginator (page_size 40, no total_path: RAWG's count is games, not pages; the 404 one "
        "past the last page ends a resource, which is 1 request more than the pages), API key as "
        "the `key` query parameter via dlt's api_key auth, incremental cursor `updated` sent as "
        "RAWG's updated=FROM,TO range with ordering=updated, filesystem destination, Parquet, "
        "write_disposition append (dlt cannot merge plain Parquet; latest per id on read, like "
        "rawgwh's raw zone), dlt's default normalisation (nested lists become child tables), "
        "telemetry off.",
        "Requests: the simulator has no page limit, so dlt reads the whole catalogue as one "
        "window (every page, plus the 404 after the last). Real RAWG is unreliable that deep "
        "(shared/RAWG_API.md), so rawgwh reads release-date windows of at most 10,000 games plus "
        "one for undated games. A window too large to read is cut where the games of its first "
        "page lie, so no window is empty; what rawgwh requests beyond dlt is that first page of "
        "each window it cuts (thrown away) and a partly filled last page in each window it "
        "reads: the price of the contract's windows, about 0.5% here.",
        "Disk: what each leaves behind. rawgwh: its warehouse folder (Iceberg data, metadata, "
        "SQLite catalog). dlt: destination plus its pipelines folder, which keeps every "
        "completed load package (a second copy of the Parquet files) unless cleaned.",
    ]
    return notes


def _charts(samples: Sequence[Sample]) -> None:
    def series(
        case: str, value: Callable[[Sample], float | None]
    ) -> dict[str, list[tuple[int, float]]]:
        out: dict[str, list[tuple[int, float]]] = {}
        for s in samples:
            v = value(s)
            if s.case == case and v is not None:
                out.setdefault(s.system, []).append((s.size, v))
        return out

    def secs(s: Sample) -> float:
        return s.median_seconds

    def rss(s: Sample) -> float | None:
        return s.median_rss_mb

    line_chart(CHARTS / "sync_full_time.png", "Full sync: wall time", "seconds (median)",
               series(FULL, secs))  # fmt: skip
    line_chart(CHARTS / "sync_full_memory.png", "Full sync: peak memory", "peak RSS, MB (median)",
               series(FULL, rss))  # fmt: skip
    line_chart(CHARTS / "sync_incremental_time.png", "Incremental sync (1% of games changed)",
               "seconds (median)", series(INCREMENTAL, secs))  # fmt: skip


if __name__ == "__main__":
    raise SystemExit("run it with: python -m benchmarks sync [--sizes ...] [--repeat N]")
