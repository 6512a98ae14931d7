"""The pandas baseline builds the same star as rawgwh; the model comparison records runs."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

from benchmarks.baselines import pandas_pipeline  # noqa: E402
from benchmarks.compare import model  # noqa: E402
from rawgwh.model import build_star  # noqa: E402
from rawgwh.raw import parse_games  # noqa: E402


@pytest.fixture(scope="module")
def raw_games(sample_records: list[dict[str, Any]]) -> pa.Table:
    games: pa.Table = parse_games(
        sample_records, sync_id="test", fetched_at=datetime(2025, 1, 1)
    ).games
    return games


def _write_raw(table: pa.Table, folder: Path, parts: int = 3) -> list[Path]:
    """The raw rows split over several files, as a sync leaves them."""
    folder.mkdir(parents=True, exist_ok=True)
    step = -(-table.num_rows // parts)
    paths = []
    for i in range(parts):
        path = folder / f"part-{i}.parquet"
        pq.write_table(table.slice(i * step, step), path)
        paths.append(path)
    return paths


def test_baseline_builds_the_same_tables_as_rawgwh(raw_games: pa.Table, tmp_path: Path) -> None:
    import polars as pl

    out = tmp_path / "star"
    summary = pandas_pipeline.run(_write_raw(raw_games, tmp_path / "raw"), out)

    ours = build_star(pl.from_arrow(raw_games)).tables  # type: ignore[arg-type]
    assert set(summary["rows"]) == set(ours)
    for name, frame in ours.items():
        written = pq.read_table(out / f"{name}.parquet").num_rows
        assert written == summary["rows"][name], name
        if name != "dim_date":  # the baseline's date range is fixed by design
            assert written == frame.height, name
    # Every release date the fact points at is in the baseline's fixed dim_date.
    days = set(pq.read_table(out / "dim_date.parquet").column("date_key").to_pylist())
    keys = pq.read_table(out / "fact_games.parquet").column("released_date_key").to_pylist()
    assert {k for k in keys if k is not None} <= days


def test_baseline_bridges_point_at_their_dimensions(raw_games: pa.Table) -> None:
    frame = raw_games.slice(0, 2_000).to_pandas()
    tables = pandas_pipeline.build_tables(frame)
    for dim in pandas_pipeline.LIST_DIMS:
        keys = tables[dim.table][dim.key]
        assert keys.tolist() == list(range(1, len(keys) + 1)), dim.table
        assert tables[dim.table][dim.natural].is_unique, dim.table
        bridge = tables[dim.bridge]
        assert set(bridge[dim.key]) <= set(keys), dim.bridge
        assert not bridge.duplicated(["game_id", dim.key]).any(), dim.bridge
    esrb = set(tables["dim_esrb_rating"]["esrb_rating_key"])
    assert set(tables["fact_games"]["esrb_rating_key"].dropna()) <= esrb


def test_baseline_keeps_the_latest_version_of_each_game(
    raw_games: pa.Table, tmp_path: Path
) -> None:
    first = raw_games.slice(0, 50)
    updated = pa.array([u + timedelta(days=1) for u in first.column("updated").to_pylist()])
    newer = first.set_column(
        first.schema.get_field_index("updated"), first.schema.field("updated"), updated
    ).set_column(
        first.schema.get_field_index("name"),
        first.schema.field("name"),
        pa.array(["renamed"] * first.num_rows),
    )
    # The newer versions come first, so keeping the last row seen would be wrong.
    paths = _write_raw(pa.concat_tables([newer, first]), tmp_path, 2)
    latest = pandas_pipeline.read_latest(paths)
    assert len(latest) == first.num_rows
    assert set(latest["name"]) == {"renamed"}


@pytest.mark.slow
def test_model_comparison_records_interleaved_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small end to end: simulator -> raw zone -> both sides as children, with the slow path."""
    monkeypatch.setattr(model, "CHARTS", tmp_path / "charts")
    monkeypatch.setattr(model, "SLOW_SECONDS", 0.0)  # every baseline run counts as slow
    monkeypatch.setattr(model, "SLOW_RUNS", 1)
    section = model.run([300, 200], repeat=2, workdir=tmp_path / "work")

    assert [(s.system, s.case, s.size) for s in section.samples] == [
        ("rawgwh", "build+publish", 200),
        ("pandas-baseline", "build+publish", 200),
        ("import-floor", "import floor", 200),
        ("rawgwh", "build+publish", 300),
        ("pandas-baseline", "build+publish", 300),
        ("import-floor", "import floor", 300),
    ]
    for s in section.samples:
        expected = 1 if s.system == "pandas-baseline" else 2
        assert len(s.seconds) == len(s.peak_rss_mb) == expected
        assert all(x > 0 for x in s.seconds + s.peak_rss_mb)
        if s.system == "import-floor":  # no work, and less than a publish's
            ours = section.sample("rawgwh", "build+publish", s.size)
            assert ours is not None and s.median_seconds < ours.median_seconds
            assert s.extra["modules_loaded"] > 100
            continue
        assert s.extra["rows"]["fact_games"] == s.size
        assert s.extra["disk_bytes"] > 0
        assert 0 < s.extra["in_process_s"] < max(s.seconds)  # start-up is left out
        runs = s.extra["in_process_runs"]  # one per timed run, the warm-up left out
        assert len(runs) == len(s.seconds)
        assert s.extra["in_process_s"] == round(statistics.median(runs), 3)
    notes = " ".join(section.notes)
    assert "import-floor: a fresh interpreter" in notes
    assert "warm-up took" in notes  # 200: warm-up ran, then repeats were cut
    assert "warm-up was skipped" in notes  # 300: predicted slow from 200
    assert "same row counts" in notes
    assert (tmp_path / "charts" / "model_time.png").stat().st_size > 1000
    assert (tmp_path / "charts" / "model_memory.png").stat().st_size > 1000
    assert section.started <= section.finished


def test_the_baseline_reads_the_columns_rawgwh_reads() -> None:
    from rawgwh.model.schema import INPUT_COLUMNS

    assert list(INPUT_COLUMNS) == pandas_pipeline.COLUMNS


def test_the_import_floor_imports_only_what_a_publish_imports(
    tmp_path: Path, sample_path: Path
) -> None:
    """Both children as the comparison runs them: the floor loads the heavy libraries, and
    nothing the publish child does not load too (so no publish can be faster)."""
    import json

    from benchmarks.compare.common import measure_child
    from benchmarks.model_bench import fill

    warehouse = tmp_path / "wh"
    fill(warehouse, 500)
    _, _, code = measure_child(model.publish_cmd(warehouse, tmp_path / "publish.json"))
    assert code == 0
    published = json.loads((tmp_path / "publish.json").read_text())
    assert published["mode"] == "full" and published["games"] == 500
    seconds, rss, code = measure_child(model.floor_cmd(tmp_path / "floor.json"))
    assert code == 0 and seconds > 0 and rss > 0
    floor = set(json.loads((tmp_path / "floor.json").read_text())["modules"])

    assert floor <= set(published["modules"]), sorted(floor - set(published["modules"]))
    heavy = {"polars", "pyarrow", "duckdb", "sqlalchemy", "pyiceberg.catalog.sql"}
    assert heavy | {"pyiceberg.io.pyarrow", *model.FLOOR_MODULES} <= floor
    assert "rawgwh.model.star" in floor  # publish's own imports come along
