"""rawgwh's model build + publish against the hand-built pandas pipeline (issue 5, item 1).

For each size, both read the same raw zone (synced from the simulator) and run as fresh
child processes, interleaved, timed with ``wait4``:

- rawgwh: a full ``publish_star`` as ``rawgwh build`` runs it (read, build, DuckDB
  validation, write, Iceberg commit) into a fresh warehouse holding only that raw zone;
- pandas-baseline: ``benchmarks.baselines.pandas_pipeline`` (read, transform, write
  Parquet) into a fresh folder;
- import-floor: a fresh interpreter that imports what the rawgwh child imports to publish
  (:data:`FLOOR_MODULES`) and exits. No rawgwh child can be faster than that, which bounds
  the 50x target: the report sets it against the baseline's median / 50.
"""

from __future__ import annotations

import importlib
import json
import shutil
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks._proc import product_python
from benchmarks.compare.common import (
    CHARTS,
    Sample,
    Section,
    line_chart,
    machine_info,
    measure_child,
    now,
    raw_only_copy,
    raw_warehouse,
)

__all__ = [
    "CASE",
    "FLOOR",
    "FLOOR_CASE",
    "FLOOR_MODULES",
    "SLOW_SECONDS",
    "baseline_cmd",
    "floor_cmd",
    "import_floor_child",
    "publish_child",
    "publish_cmd",
    "raw_files",
    "run",
    "star_rows",
]

CASE = "build+publish"
RAWGWH, BASELINE = "rawgwh", "pandas-baseline"
FLOOR, FLOOR_CASE = "import-floor", "import floor"
#: What the publish child imports: the modules it imports before publish_star starts
#: (Warehouse.open brings in pyiceberg's SQL catalog and SQLAlchemy), and the two that
#: publish_star imports on first use, DuckDB for the checks and pyiceberg's Arrow writer.
FLOOR_MODULES = (
    "rawgwh.settings",
    "rawgwh.warehouse.catalog",
    "rawgwh.warehouse.publish",
    "pyiceberg.catalog.sql",
    "rawgwh.warehouse.validate",
    "pyiceberg.io.pyarrow",
)
# A baseline run predicted slower than this gets no warm-up and at most SLOW_RUNS runs.
SLOW_SECONDS = 360.0
SLOW_RUNS = 3


def raw_files(warehouse: Path) -> list[str]:
    """Local paths of the current data files of ``raw.games``."""
    from rawgwh.settings import Settings
    from rawgwh.warehouse.catalog import Warehouse
    from rawgwh.warehouse.raw_zone import RAW_GAMES
    from rawgwh.warehouse.star_zone import data_files, local_path

    table = Warehouse.open(Settings(warehouse=str(warehouse))).table(RAW_GAMES)
    paths = [local_path(f.file_path) for f in data_files(table)]
    if any(p is None for p in paths):
        raise RuntimeError(f"raw.games in {warehouse} has files that are not local")
    return [p for p in paths if p is not None]


def star_rows(warehouse: Path) -> dict[str, int]:
    """Rows per published star table, from the Iceberg snapshot summaries."""
    from rawgwh.model import STAR_TABLES
    from rawgwh.settings import Settings
    from rawgwh.warehouse.catalog import Warehouse
    from rawgwh.warehouse.star_zone import STAR_NAMESPACE

    wh = Warehouse.open(Settings(warehouse=str(warehouse)))
    rows = {}
    for name in STAR_TABLES:
        snapshot = wh.table(f"{STAR_NAMESPACE}.{name}").current_snapshot()
        summary = snapshot.summary if snapshot else None
        rows[name] = int(summary.get("total-records", "0")) if summary else 0
    return rows


def publish_cmd(warehouse: Path, result: Path) -> list[str]:
    """A child doing exactly what ``rawgwh build`` does, reporting publish_star's own time."""
    return [product_python(), "-m", "benchmarks.compare.model", str(warehouse), str(result)]


def publish_child(warehouse: Path, result: Path) -> None:
    """``rawgwh build --full``: take the writer lock, publish the whole star, save the result."""
    from rawgwh.settings import Settings
    from rawgwh.warehouse.catalog import Warehouse
    from rawgwh.warehouse.publish import publish_star

    with Warehouse.for_writing(Settings(warehouse=str(warehouse))) as store:
        published = publish_star(store, sync_id="bench-model")
    summary = {
        "mode": published.mode,
        "games": published.games_total,
        "seconds": published.seconds,
        "timings": published.timings,
        "modules": sorted(sys.modules),  # what the import floor may import
    }
    result.write_text(json.dumps(summary))


def floor_cmd(result: Path) -> list[str]:
    """The import-floor child: the publish child's interpreter and module, importing only."""
    return [product_python(), "-m", "benchmarks.compare.model", "--import-floor", str(result)]


def import_floor_child(result: Path) -> None:
    """Import :data:`FLOOR_MODULES`, write the modules loaded, exit."""
    for name in FLOOR_MODULES:
        importlib.import_module(name)
    result.write_text(json.dumps({"modules": sorted(sys.modules)}))


def baseline_cmd(files_list: Path, out: Path, summary: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "benchmarks.baselines.pandas_pipeline",
        "--files-from",
        str(files_list),
        "--out",
        str(out),
        "--summary",
        str(summary),
    ]


def _disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class _Runner:
    """Runs one size's two sides, keeping every measurement and the last outputs' figures."""

    def __init__(self, size: int, workdir: Path) -> None:
        self.size = size
        self.raw = raw_warehouse(size, workdir)
        self.scratch = workdir / f"model-{size}"
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch.mkdir(parents=True)
        self.files = self.scratch / "raw-files.txt"
        self.files.write_text("\n".join(raw_files(self.raw)) + "\n")
        self.samples = {
            RAWGWH: Sample(RAWGWH, CASE, size, [], [], {}),
            BASELINE: Sample(BASELINE, CASE, size, [], [], {}),
            FLOOR: Sample(FLOOR, FLOOR_CASE, size, [], [], {}),
        }
        self.work: dict[str, list[float]] = {RAWGWH: [], BASELINE: []}

    def _work(self, system: str, seconds: float, timed: bool) -> dict[str, Any]:
        """The in-process time (without start-up) of the timed runs so far, and its median."""
        runs = self.work[system]
        if timed:
            runs.append(round(seconds, 3))
        return {
            "in_process_s": round(statistics.median(runs or [seconds]), 3),
            "in_process_runs": list(runs),
        }

    def rawgwh(self, timed: bool = True) -> float:
        target = raw_only_copy(self.raw, self.scratch / "wh")
        result = self.scratch / "publish.json"
        seconds, rss, code = measure_child(publish_cmd(target, result))
        if code != 0:
            raise RuntimeError(f"rawgwh publish failed at {self.size} games (exit {code})")
        published: dict[str, Any] = json.loads(result.read_text())
        if published["mode"] != "full" or published["games"] != self.size:
            raise RuntimeError(f"expected a full publish of {self.size} games: {published}")
        sample = self.samples[RAWGWH]
        sample.extra = {
            **self._work(RAWGWH, published["seconds"], timed),
            "timings": published["timings"],
            "rows": star_rows(target),
            "disk_bytes": _disk_bytes(target / "star"),
        }
        if timed:
            sample.seconds.append(seconds)
            sample.peak_rss_mb.append(rss)
        shutil.rmtree(target)
        return seconds

    def floor(self, timed: bool = True) -> float:
        result = self.scratch / "floor.json"
        result.unlink(missing_ok=True)
        seconds, rss, code = measure_child(floor_cmd(result))
        if code != 0 or not result.exists():
            raise RuntimeError(f"the import-floor child failed (exit {code})")
        modules = json.loads(result.read_text())["modules"]
        self.samples[FLOOR].extra = {"modules_loaded": len(modules)}
        if timed:
            self.samples[FLOOR].seconds.append(seconds)
            self.samples[FLOOR].peak_rss_mb.append(rss)
        return seconds

    def baseline(self, timed: bool = True) -> float:
        out, summary = self.scratch / "pandas-out", self.scratch / "pandas-summary.json"
        shutil.rmtree(out, ignore_errors=True)
        seconds, rss, code = measure_child(baseline_cmd(self.files, out, summary))
        if code != 0:
            raise RuntimeError(f"pandas baseline failed at {self.size} games (exit {code})")
        result: dict[str, Any] = json.loads(summary.read_text())
        sample = self.samples[BASELINE]
        sample.extra = {
            **self._work(BASELINE, sum(result["timings"].values()), timed),
            "rows": result["rows"],
            "timings": result["timings"],
            "disk_bytes": _disk_bytes(out),
        }
        if timed:
            sample.seconds.append(seconds)
            sample.peak_rss_mb.append(rss)
        shutil.rmtree(out)
        return seconds


def _log(size: int, system: str, seconds: float, label: str) -> None:
    print(f"  {size:>9,} {system:<16} {label:<8} {seconds:8.2f} s", flush=True)


def _run_size(
    size: int, repeat: int, workdir: Path, predicted: float | None, notes: list[str]
) -> list[Sample]:
    runner = _Runner(size, workdir)
    slow = predicted is not None and predicted > SLOW_SECONDS
    _log(size, RAWGWH, runner.rawgwh(timed=False), "warm-up")
    _log(size, FLOOR, runner.floor(timed=False), "warm-up")
    baseline_runs = repeat
    if slow:
        baseline_runs = min(repeat, SLOW_RUNS)
        notes.append(
            f"At {size:,} games a baseline run was predicted to take {predicted:,.0f} s "
            f"(from the smaller sizes), over {SLOW_SECONDS:.0f} s: its warm-up was skipped "
            f"and it ran {baseline_runs} times; rawgwh kept its warm-up and {repeat} runs."
        )
    else:
        warm = runner.baseline(timed=False)
        _log(size, BASELINE, warm, "warm-up")
        if warm > SLOW_SECONDS and repeat > SLOW_RUNS:
            baseline_runs = SLOW_RUNS
            notes.append(
                f"At {size:,} games the baseline's warm-up took {warm:,.0f} s, over "
                f"{SLOW_SECONDS:.0f} s: it ran {baseline_runs} timed times instead of {repeat}."
            )
    for i in range(repeat):
        _log(size, RAWGWH, runner.rawgwh(), f"run {i + 1}")
        _log(size, FLOOR, runner.floor(), f"run {i + 1}")
        if i < baseline_runs:
            _log(size, BASELINE, runner.baseline(), f"run {i + 1}")
    _check_rows(runner.samples, size, notes)
    return list(runner.samples.values())


def _check_rows(samples: dict[str, Sample], size: int, notes: list[str]) -> None:
    ours, theirs = samples[RAWGWH].extra["rows"], samples[BASELINE].extra["rows"]
    differ = [n for n in ours if n != "dim_date" and ours[n] != theirs.get(n)]
    if differ:
        detail = ", ".join(f"{n} {ours[n]:,} vs {theirs.get(n)}" for n in differ)
        notes.append(f"At {size:,} games the row counts differ (rawgwh vs baseline): {detail}.")
    else:
        notes.append(
            f"At {size:,} games both built the same row counts in all 13 tables but dim_date "
            f"(rawgwh {ours['dim_date']:,} days spanning the release dates, baseline "
            f"{theirs['dim_date']:,} for its fixed years)."
        )


def redraw(section: Section) -> None:
    """Draw the charts again from a saved (or merged) section."""
    _charts(section.samples)


def _charts(samples: Sequence[Sample]) -> None:
    series: dict[str, list[tuple[int, float]]] = {RAWGWH: [], BASELINE: [], FLOOR: []}
    memory: dict[str, list[tuple[int, float]]] = {RAWGWH: [], BASELINE: [], FLOOR: []}
    for s in samples:
        series.setdefault(s.system, []).append((s.size, s.median_seconds))
        if s.median_rss_mb is not None:
            memory.setdefault(s.system, []).append((s.size, s.median_rss_mb))
    for points in (*series.values(), *memory.values()):
        points.sort()
    line_chart(
        CHARTS / "model_time.png",
        "Model build + publish: wall time (median)",
        "seconds (log scale)",
        series,
    )
    line_chart(
        CHARTS / "model_memory.png",
        "Model build + publish: peak memory (median)",
        "peak RSS, MB (log scale)",
        memory,
    )


def run(sizes: Sequence[int], repeat: int, workdir: Path) -> Section:
    """Both sides at every size; charts to ``results/charts/model_*.png``."""
    section = Section(
        name="model",
        title="Model build + publish vs the hand-built pandas pipeline",
        command="",
        started=now(),
        machine=machine_info(),
    )
    section.notes += [
        "rawgwh: a child doing what `rawgwh build` does (writer lock, then a full "
        "publish_star: read raw.games, build the 14 star tables with Polars, validate them "
        "with DuckDB, write Parquet, commit to Iceberg, creating the star tables) into a "
        "fresh warehouse each run, whose catalog holds only the raw zone.",
        "pandas-baseline: `python -m benchmarks.baselines.pandas_pipeline` (pandas "
        "read_parquet of the raw.games data files, iterrows loops, to_parquet) into a fresh "
        "folder each run. It reads only the 28 columns the model needs, as rawgwh does. "
        "No validation, no catalog commit.",
        "import-floor: a fresh interpreter running the rawgwh child's module with "
        "--import-floor, which imports what that child imports to publish and exits: "
        f"{', '.join(FLOOR_MODULES)} (with them polars, pyarrow, DuckDB, pyiceberg and "
        "SQLAlchemy). No rawgwh child can finish faster; it is not a rival.",
        "All three run as child processes, interleaved (rawgwh, import floor, baseline, "
        "rawgwh, ...), timed from process start to exit (interpreter start and imports "
        "included); peak RSS from the child's own VmHWM. `in_process_s` is the time inside "
        "the child without start-up: publish_star's own clock for rawgwh, "
        "read+build+write for the baseline (median of the timed runs, each in `in_process_runs`).",
        "The raw zones were synced from the simulator (`rawgwh sync --raw-only`, seed 1), "
        "one version per game.",
    ]
    workdir.mkdir(parents=True, exist_ok=True)
    per_game: float | None = None
    for size in sorted(sizes):
        print(f"model comparison at {size:,} games", flush=True)
        predicted = None if per_game is None else per_game * size
        samples = _run_size(size, repeat, workdir, predicted, section.notes)
        section.samples += samples
        base = next(s for s in samples if s.system == BASELINE)
        per_game = base.median_seconds / size
        shutil.rmtree(workdir / f"model-{size}", ignore_errors=True)
    section.finished = now()
    _charts(section.samples)
    return section


if __name__ == "__main__":
    import gc

    try:
        if sys.argv[1] == "--import-floor":
            import_floor_child(Path(sys.argv[2]))
        else:
            publish_child(Path(sys.argv[1]), Path(sys.argv[2]))
    finally:
        gc.freeze()  # and exit as the `rawgwh` command does (rawgwh.cli.app.main)
