"""REPORT.md from hand-made sections: figures, targets, charts and not-run reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from benchmarks.compare.common import Sample, Section, line_chart, load, repeat, save  # noqa: E402
from benchmarks.compare.report import render, target_checks, write_report  # noqa: E402


def _model(
    ours_s: float, theirs_s: float, ours_mb: float, theirs_mb: float, floor_s: float | None = None
) -> Section:
    section = Section(
        name="model",
        title="Model build + publish vs the hand-built pandas pipeline",
        command="python -m benchmarks model --sizes 100000",
        samples=[
            Sample(
                "rawgwh",
                "build+publish",
                100_000,
                [ours_s] * 5,
                [ours_mb] * 5,
                {"in_process_s": ours_s / 2},
            ),
            Sample(
                "pandas-baseline",
                "build+publish",
                100_000,
                [theirs_s - 1, theirs_s, theirs_s + 1],
                [theirs_mb] * 3,
                {"disk_bytes": 12_345, "in_process_s": theirs_s - 2},
            ),
        ],
        notes=["baseline ran 3 times at 100,000 games"],
        started="2026-01-01T00:00:00+00:00",
        finished="2026-01-01T01:00:00+00:00",
        machine={"cpu_count": 2, "python": "3.11.7", "load_average": [1.0, 1.5, 2.0]},
    )
    if floor_s is not None:  # the import-floor child: no work, a few timings around floor_s
        runs = [floor_s + 0.05, floor_s - 0.02, floor_s, floor_s + 0.01, floor_s - 0.04]
        section.samples.append(Sample("import-floor", "import floor", 100_000, runs, [200.0] * 5))
    return section


def _sync(ours_s: float, dlt_s: float, ours_req: int, dlt_req: int) -> Section:
    return Section(
        name="sync",
        title="Sync vs dlt",
        command="python -m benchmarks sync",
        samples=[
            Sample("rawgwh", "full sync", 10_000, [ours_s], [100.0], {"requests": ours_req}),
            Sample("dlt", "full sync", 10_000, [dlt_s], [200.0], {"requests": dlt_req}),
        ],
    )


def _query() -> Section:
    samples = []
    timings = [("q01", 0.10, 0.09, 0.2), ("q02", 0.30, 0.20, 0.5)]
    timings += [(f"q0{i}", 0.1, 0.1, 0.1) for i in range(3, 6)]
    for q, ours, duck, polars in timings:
        samples += [
            Sample("rawgwh", q, 1_000_000, [ours]),
            Sample("duckdb-iceberg", q, 1_000_000, [duck]),
            Sample("polars", q, 1_000_000, [polars]),
        ]
    samples += [
        Sample("rawgwh", "all ten", 1_000_000, [3.0], [500.0]),
        Sample("duckdb-iceberg", "all ten", 1_000_000, [2.0], [400.0]),
    ]
    return Section(
        name="query",
        title="Queries",
        command="python -m benchmarks query",
        samples=samples,
        not_run={"dremio": "DREMIO_URL not set"},
    )


def test_passing_model_target_is_met_with_its_figures(tmp_path: Path) -> None:
    save(_model(1.0, 61.0, 310.0, 820.0), tmp_path)
    (tmp_path / "charts").mkdir()
    line_chart(tmp_path / "charts" / "model_time.png", "t", "s", {"rawgwh": [(10, 1.0)]})

    text = write_report(tmp_path).read_text()

    assert "build+publish at 100k: rawgwh 1.00 s vs pandas-baseline 61.00 s, 61.0× faster" in text
    assert "peak memory 310 vs 820 MB" in text
    assert "without process start-up 0.500 vs 59.00 s (118.0× faster)" in text
    assert (
        "| 100,000 | **met** | 1.00 s vs 61.00 s = 61.0×; 310 vs 820 MB; "
        "without process start-up 0.500 vs 59.00 s = 118.0× |"
    ) in text
    assert "![model time](charts/model_time.png)" in text
    assert "baseline ran 3 times at 100,000 games" in text
    assert "python -m benchmarks model --sizes 100000" in text
    assert "disk_bytes=12,345" in text
    assert "60.00–62.00" in text  # the baseline's range of runs
    # Sections never run are reported as such, with no figures made up.
    assert "Sync vs dlt: not run yet." in text
    assert "Not run yet: no `compare_query.json`" in text


@pytest.mark.parametrize(
    ("ours_s", "theirs_s", "ours_mb", "theirs_mb"),
    [(2.0, 61.0, 310.0, 820.0), (1.0, 61.0, 900.0, 820.0)],
    ids=["too-slow", "more-memory"],
)
def test_failing_model_target_is_not_met(
    ours_s: float, theirs_s: float, ours_mb: float, theirs_mb: float
) -> None:
    (check,) = target_checks({"model": _model(ours_s, theirs_s, ours_mb, theirs_mb)})[:1]
    assert check.status == "not met"


def test_sync_and_query_targets_and_not_run_reasons() -> None:
    passing = {"sync": _sync(10.0, 40.0, 250, 251), "query": _query()}
    checks = {c.target.split()[0]: c for c in target_checks(passing)}
    assert checks["full"].status == "met"
    assert checks["rawgwh"].status == "not met"  # q02 takes 1.5x the faster rival
    assert "q02 at 1.50×" in checks["rawgwh"].detail

    assert "Why not" not in checks["full"].detail
    more_requests = target_checks({"sync": _sync(10.0, 40.0, 300, 251)})
    (sync,) = [c for c in more_requests if c.target.startswith("full")]
    assert sync.status == "not met"
    # The row says why: the windows the contract asks for, against dlt's one deep window.
    assert "requests 300 vs 251 (+49, +19.5%). Why not met:" in sync.detail
    assert "windows of at most 10,000 games" in sync.detail
    assert "one window 250 pages deep" in sync.detail

    text = render(passing)
    assert "- **dremio**: DREMIO_URL not set" in text
    # Many queries: one row per query and size, the systems side by side.
    assert "| query | games | rawgwh s | duckdb-iceberg s | polars s |" in text
    assert "| q02 | 1,000,000 | 0.300 | 0.200 | 0.500 | 1.50 | 1/1/1 |" in text
    assert "query at 1M: rawgwh vs duckdb-iceberg over 5 queries" in text
    assert "least favourable q02 (1.5× slower)" in text
    assert "all ten at 1M: rawgwh 3.00 s vs duckdb-iceberg 2.00 s, 1.5× slower" in text
    assert "Model build + publish vs the hand-built pandas pipeline: not run yet." in text


def test_sections_round_trip_through_json(tmp_path: Path) -> None:
    section = _query()
    save(section, tmp_path)
    loaded = load("query", tmp_path)
    assert loaded is not None
    assert loaded.samples == section.samples
    assert loaded.not_run == section.not_run
    assert loaded.machine["load_average_after"]
    assert load("model", tmp_path) is None


def test_repeat_drops_the_warm_up() -> None:
    calls = iter(range(10))
    assert repeat(lambda: next(calls), runs=3, warmup=1) == [1, 2, 3]


def test_line_chart_writes_a_png(tmp_path: Path) -> None:
    path = line_chart(
        tmp_path / "c.png",
        "time",
        "seconds",
        {"a": [(10_000, 1.0), (100_000, 3.0)], "b": [(10_000, 5.0), (100_000, 60.0)]},
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_import_floor_over_the_budget_is_said_in_notes_and_target() -> None:
    # the baseline's median 38 s: 50x leaves rawgwh 0.76 s; Python and imports take 0.84 s
    text = render({"model": _model(0.9, 38.0, 310.0, 820.0, floor_s=0.84)})
    note = (
        "- 50× at 100,000 games needs rawgwh under 0.76 s (the baseline's median / 50); "
        "starting Python and importing its libraries takes 0.84 s (median, same run): the "
        "import floor alone is over the budget, so no rawgwh process is 50× faster at this "
        "size however fast its work."
    )
    assert note in text.splitlines()
    (check,) = target_checks({"model": _model(0.9, 38.0, 310.0, 820.0, floor_s=0.84)})[:1]
    assert check.status == "not met"
    assert check.detail.endswith(
        "; without process start-up 0.450 vs 36.00 s = 80.0×; why not met: 50× needs rawgwh "
        "under 0.76 s, import floor 0.84 s (over the budget by itself)"
    )
    assert f"| {check.detail} |" in text
    # the floor is a row of its own, never a rival
    assert "| import floor | 100,000 | import-floor | 0.840 |" in text
    assert "vs import-floor" not in text


def test_an_import_floor_within_the_budget_says_what_it_leaves_the_publish() -> None:
    section = _model(1.0, 61.0, 310.0, 820.0, floor_s=0.84)  # in-process 0.5 s
    text = render({"model": section})
    assert (
        "- 50× at 100,000 games needs rawgwh under 1.22 s (the baseline's median / 50); "
        "starting Python and importing its libraries takes 0.84 s (median, same run), "
        "leaving 0.38 s for the publish itself, which takes 0.50 s in the process."
    ) in text.splitlines()
    assert "over the budget" not in text
    (check,) = target_checks({"model": section})[:1]
    assert check.status == "met"
    assert check.detail.endswith(
        "; 50× needs rawgwh under 1.22 s, import floor 0.84 s, leaving 0.38 s for the publish "
        "itself, which takes 0.50 s in the process"
    )
    # without a floor sample (an older run) nothing is said about it
    assert "import floor" not in render({"model": _model(1.0, 61.0, 310.0, 820.0)})
