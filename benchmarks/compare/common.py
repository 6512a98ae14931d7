"""Shared pieces of the comparisons: result records, timing, charts and cached warehouses."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from benchmarks._proc import ROOT, measure, rawgwh_cmd, simulator

if TYPE_CHECKING:
    from rawgwh.warehouse.catalog import Warehouse

__all__ = [
    "CHARTS",
    "RESULTS",
    "SIZES",
    "WORKDIR",
    "Sample",
    "Section",
    "expected_star_layout",
    "line_chart",
    "load",
    "machine_info",
    "measure_child",
    "now",
    "published_warehouse",
    "raw_games_count",
    "raw_only_copy",
    "raw_warehouse",
    "repeat",
    "save",
    "star_layout",
]

SIZES = (10_000, 100_000, 1_000_000)
RESULTS = ROOT / "benchmarks" / "results"
CHARTS = RESULTS / "charts"
WORKDIR = ROOT / "benchmarks" / ".data"

T = TypeVar("T")

_VERSIONED = ("rawgwh", "polars", "pyarrow", "pyiceberg", "duckdb", "pandas", "dlt", "matplotlib")


@dataclass
class Sample:
    """One system, one case, one size: every timed run (warm-up excluded)."""

    system: str
    case: str
    size: int
    seconds: list[float]
    peak_rss_mb: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_rss_mb(self) -> float | None:
        return statistics.median(self.peak_rss_mb) if self.peak_rss_mb else None


@dataclass
class Section:
    """One comparison's results, as saved to ``results/compare_<name>.json``."""

    name: str
    title: str
    command: str
    samples: list[Sample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)
    started: str = ""
    finished: str = ""
    machine: dict[str, Any] = field(default_factory=dict)

    def sample(self, system: str, case: str, size: int) -> Sample | None:
        for s in self.samples:
            if (s.system, s.case, s.size) == (system, case, size):
                return s
        return None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Section:
        fields = dict(data)
        fields["samples"] = [Sample(**s) for s in data.get("samples", [])]
        return cls(**fields)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def machine_info() -> dict[str, Any]:
    """CPU count, load average, Python and the versions of the systems compared."""
    versions: dict[str, str] = {}
    for name in _VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return {
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": versions,
    }


def save(section: Section, results_dir: Path = RESULTS) -> Path:
    """Write ``compare_<name>.json``; the load average after the run is added here."""
    section.machine.setdefault("load_average_after", list(os.getloadavg()))
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"compare_{section.name}.json"
    path.write_text(json.dumps(asdict(section), indent=2) + "\n")
    return path


def load(name: str, results_dir: Path = RESULTS) -> Section | None:
    path = results_dir / f"compare_{name}.json"
    if not path.exists():
        return None
    return Section.from_json(json.loads(path.read_text()))


def measure_child(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """``(seconds, peak_rss_mb, returncode)`` of one child process: a Python child's own
    peak (see :func:`benchmarks._proc.measure`), not this process's."""
    m = measure(cmd, env=env)
    return m.seconds, m.peak_rss_mb, m.returncode


def repeat(fn: Callable[[], T], runs: int, warmup: int = 1) -> list[T]:
    """Call ``fn`` ``warmup + runs`` times; the last ``runs`` results."""
    results = [fn() for _ in range(warmup + runs)]
    return results[warmup:]


def line_chart(
    path: Path,
    title: str,
    ylabel: str,
    series: Mapping[str, Sequence[tuple[int, float]]],
    *,
    logx: bool = True,
    logy: bool = True,
    xlabel: str = "games in the catalogue",
) -> Path:
    """A PNG line chart, one line with markers per system, values labelled at each point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    markers = "os^Dvx*"
    for i, (system, points) in enumerate(series.items()):
        pts = sorted(points)
        if not pts:
            continue
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        ax.plot(xs, ys, marker=markers[i % len(markers)], linewidth=2, label=system)
        for x, y in pts:
            ax.annotate(
                _short(y),
                (x, y),
                textcoords="offset points",
                xytext=(0, 7),
                ha="center",
                fontsize=8,
            )
    ax.margins(x=0.08, y=0.12)  # room for the labels above the end points
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _games(v)))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _short(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def _games(v: float) -> str:
    if v >= 1_000_000:
        return f"{v / 1_000_000:g}M"
    if v >= 1_000:
        return f"{v / 1_000:g}k"
    return f"{v:g}"


def raw_games_count(warehouse: Path) -> int | None:
    """Rows in ``raw.games`` per its current snapshot, or None when there is none."""
    from rawgwh.settings import Settings
    from rawgwh.warehouse.catalog import Warehouse
    from rawgwh.warehouse.raw_zone import RAW_GAMES

    if not (warehouse / "catalog.db").exists():
        return None
    try:
        wh = Warehouse.open(Settings(warehouse=str(warehouse)))
        if not wh.has_table(RAW_GAMES):
            return None
        snapshot = wh.table(RAW_GAMES).current_snapshot()
    except Exception:  # a half-written cache: rebuild it
        return None
    if snapshot is None or snapshot.summary is None:
        return None
    return int(snapshot.summary.get("total-records", "0"))


def raw_warehouse(games: int, workdir: Path = WORKDIR) -> Path:
    """A warehouse whose raw zone holds ``games`` games synced from the simulator.

    Cached under ``workdir/raw-<games>`` and reused while its ``raw.games`` count matches.
    """
    path = workdir / f"raw-{games}"
    with _cache_lock(path):
        if raw_games_count(path) == games:
            return path
        shutil.rmtree(path, ignore_errors=True)
        print(f"syncing {games:,} games from the simulator into {path} ...", flush=True)
        with simulator(games) as url:
            cmd = rawgwh_cmd("sync", "--quiet", "--raw-only", "--base-url", url)
            seconds, rss, code = measure_child([*cmd, "--warehouse", str(path)])
        got = raw_games_count(path)
        if code != 0 or got != games:
            raise RuntimeError(f"raw sync of {games} games failed (exit {code}, {got} rows)")
        print(f"  synced in {seconds:.1f} s, peak RSS {rss:,.0f} MB", flush=True)
        return path


@contextlib.contextmanager
def _cache_lock(path: Path) -> Iterator[None]:
    """Several comparisons may build the same cached warehouse at once: one does, the
    others wait and reuse it."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def published_warehouse(games: int, workdir: Path = WORKDIR) -> Path:
    """``raw_warehouse(games)`` plus one full publish, cached under ``workdir/star-<games>``.

    The copy shares the raw zone's files (its catalog points at ``raw-<games>``, read only);
    the star tables it publishes live in ``star-<games>``. The cache is reused only while
    its star tables have the layout rawgwh creates now (:func:`expected_star_layout`): a
    star published by an older rawgwh (say, fact_games partitioned by release year) would
    otherwise be benchmarked forever.
    """
    from rawgwh.settings import Settings
    from rawgwh.warehouse.catalog import Warehouse
    from rawgwh.warehouse.publish import publish_star
    from rawgwh.warehouse.star_zone import PUBLISHED_PROPERTY, STAR_NAMESPACE

    path = workdir / f"star-{games}"
    raw = raw_warehouse(games, workdir)
    with _cache_lock(path):
        if raw_games_count(path) == games:
            try:
                wh = Warehouse.open(Settings(warehouse=str(path)))
                published = wh.catalog.load_namespace_properties(STAR_NAMESPACE)
                if PUBLISHED_PROPERTY in published:
                    if star_layout(wh) == expected_star_layout():
                        return path
                    print(f"{path} has an older star layout: publishing again", flush=True)
            except Exception:  # no or half-published star: publish again
                pass
        raw_only_copy(raw, path)
        wh = Warehouse.open(Settings(warehouse=str(path)))
        with wh.lock():
            publish_star(wh, sync_id="bench-publish")
        return path


Layout = dict[str, dict[str, Any]]


def star_layout(warehouse: Warehouse) -> Layout:
    """Each star table's partition fields, sort order and ``write.*`` properties, as text."""
    from rawgwh.model import STAR_TABLES
    from rawgwh.warehouse.star_zone import STAR_NAMESPACE

    layout: Layout = {}
    for name in STAR_TABLES:
        table = warehouse.catalog.load_table((STAR_NAMESPACE, name))
        schema = table.schema()
        layout[name] = {
            "partition": [
                f"{schema.find_column_name(f.source_id)} {f.transform}" for f in table.spec().fields
            ],
            "sort": [
                f"{schema.find_column_name(f.source_id)} {f.transform} {f.direction} {f.null_order}"
                for f in table.sort_order().fields
            ],
            "write": {k: v for k, v in table.properties.items() if k.startswith("write.")},
        }
    return layout


@functools.cache
def expected_star_layout() -> Layout:
    """:func:`star_layout` of the star tables ``StarZone`` creates now, in a scratch catalog."""
    from rawgwh.settings import Settings
    from rawgwh.warehouse.catalog import Warehouse
    from rawgwh.warehouse.star_zone import StarZone

    with tempfile.TemporaryDirectory(prefix="rawgwh-layout-") as folder:
        wh = Warehouse.open(Settings(warehouse=folder), create=True)
        try:
            StarZone(wh)
            return star_layout(wh)
        finally:
            engine = getattr(wh.catalog, "engine", None)
            if engine is not None:
                engine.dispose()


def raw_only_copy(raw: Path, path: Path) -> Path:
    """A fresh warehouse at ``path`` holding ``raw``'s raw zone and no star.

    Only the catalog is copied: Iceberg metadata names absolute file paths, so the copy
    reads the original's raw files (never writes them) and writes its star in ``path``.
    """
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    shutil.copy2(raw / "catalog.db", path / "catalog.db")
    return path
