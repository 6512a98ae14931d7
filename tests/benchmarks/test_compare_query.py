"""The query comparison's harness: answer checks, and every engine over a real warehouse.

The warehouse is a real one: 2,000 games synced from the simulator on loopback into a
SQLite-catalogued Iceberg warehouse and published (``common.published_warehouse``).
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from benchmarks.compare import common
from benchmarks.compare.query import (
    ALL_TEN,
    MEMORY,
    AnswerMismatch,
    compare_answers,
    measure_size,
    prepare_duckdb_iceberg,
    run_engine,
    same_rows,
    target_notes,
)
from benchmarks.compare.query_engines import (
    ENGINES,
    POLARS_BY_HAND,
    load_queries,
    run_child,
    star_tables,
    write_spec,
)
from rawgwh.errors import QueryError

if TYPE_CHECKING:
    from rawgwh.warehouse.catalog import Warehouse

GAMES = 2_000


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return common.published_warehouse(GAMES, tmp_path_factory.mktemp("query-compare"))


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory, sample_path: Path) -> Path:
    """The 10,000 real games of 2015, published: every query has rows here."""
    from benchmarks.model_bench import fill
    from rawgwh.settings import Settings
    from rawgwh.warehouse.catalog import Warehouse
    from rawgwh.warehouse.publish import publish_star

    path = tmp_path_factory.mktemp("query-sample") / "wh"
    fill(path, 10_000)
    wh = Warehouse.open(Settings(warehouse=str(path)))
    with wh.lock():
        publish_star(wh, sync_id="sample")
    return path


@pytest.fixture(scope="module")
def duckdb_iceberg() -> None:
    why_not = prepare_duckdb_iceberg()
    if why_not is not None:
        pytest.skip(f"DuckDB-iceberg engine unavailable offline: {why_not}")


@pytest.fixture
def polars_planner(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the optional polars-iceberg plugin Polars warns, and warnings are errors here.
    monkeypatch.setenv("POLARS_ICEBERG_PLANNER", "pyiceberg")


def _answers(result: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {q: {"columns": e["columns"], "rows": e["rows"]} for q, e in result["queries"].items()}


def _spec(warehouse: Path, **overrides: Any) -> dict[str, Any]:
    spec = {
        "warehouse": str(warehouse),
        "tables": star_tables(warehouse),
        "queries": load_queries(),
        "runs": 0,
        "warmup": 1,
        "rows": True,
    }
    spec.update(overrides)
    return spec


# --- the answer check ---------------------------------------------------------------------


def test_same_rows_ignores_order_and_numeric_type() -> None:
    left = [["b", 2, 0.5], ["a", 1, None], ["a", 1, 0.25]]
    right = [["a", 1.0, 0.25], ["a", 1, None], ["b", 2, 0.5 * (1 + 1e-9)]]
    assert same_rows(left, right) is None


def test_a_rounding_tie_is_the_same_answer_but_counts_are_exact() -> None:
    assert same_rows([["Steam", 400, 2.8707, 11.27]], [["Steam", 400, 2.8708, 11.28]]) is None
    assert same_rows([["Steam", 400, 2.8707]], [["Steam", 400, 2.8709]]) is not None
    assert same_rows([["Steam", 400, 2.87]], [["Steam", 400, 2.8]]) is not None
    assert same_rows([["Steam", 400, 2.8]], [["Steam", 401, 2.8]]) is not None
    assert same_rows([[4.0]], [[4]]) is None and same_rows([[4.0]], [[5]]) is not None


@pytest.mark.parametrize(
    ("right", "message"),
    [
        ([["a", 1, 0.25]], "2 rows against 1"),
        ([["a", 1, 0.25], ["b", 2, 0.53]], "sorted row 1: ['b', 2, 0.5] against ['b', 2, 0.53]"),
        ([["a", 1, 0.25], ["b", 2, None]], "sorted row 1"),
        ([["a", 1, 0.25], ["c", 2, 0.5]], "sorted row 1"),
        ([["a", 1, 0.25], ["b", 2]], "3 columns against 2"),
        ([["a", 1, 0.25], ["b", True, 0.5]], "sorted row"),
    ],
)
def test_same_rows_names_the_difference(right: list[list[Any]], message: str) -> None:
    left = [["a", 1, 0.25], ["b", 2, 0.5]]
    diff = same_rows(left, right)
    assert diff is not None and message in diff


def test_compare_answers_names_the_query_and_the_engine() -> None:
    ours = {"q1": {"columns": ["x"], "rows": [[1], [2]]}, "q2": {"columns": ["y"], "rows": []}}
    same = {"q1": {"columns": ["x"], "rows": [[2], [1]]}, "q2": {"columns": ["y"], "rows": []}}
    compare_answers({"rawgwh": ours, "polars": same, "duckdb-iceberg": same})
    other = {**same, "q1": {"columns": ["x"], "rows": [[1], [3]]}}
    with pytest.raises(AnswerMismatch, match=r"^q1: duckdb-iceberg disagrees with rawgwh"):
        compare_answers({"rawgwh": ours, "polars": same, "duckdb-iceberg": other})
    renamed = {**same, "q2": {"columns": ["z"], "rows": []}}
    with pytest.raises(AnswerMismatch, match=r"^q2: polars returned columns \['z'\]"):
        compare_answers({"rawgwh": ours, "polars": renamed})
    with pytest.raises(AnswerMismatch, match=r"^q2: polars returned no answer"):
        compare_answers({"rawgwh": ours, "polars": {"q1": same["q1"]}})


# --- the engines on a real warehouse ----------------------------------------------------------


def test_the_spec_names_the_published_snapshots(warehouse: Path) -> None:
    tables = star_tables(warehouse)
    assert set(tables) == {
        "fact_games",
        "fact_game_ratings",
        *(f"dim_{d}" for d in ("date", "esrb_rating", "genre", "parent_platform")),
        *(f"dim_{d}" for d in ("platform", "store", "tag")),
        *(f"bridge_game_{b}" for b in ("genre", "parent_platform", "platform", "store", "tag")),
    }
    for table in tables.values():
        assert Path(table["metadata"]).is_file() and table["snapshot"] > 0


@pytest.mark.parametrize("source", ["simulator", "sample"])
def test_polars_answers_like_rawgwh_on_all_ten(
    source: str, request: pytest.FixtureRequest, polars_planner: None
) -> None:
    warehouse = request.getfixturevalue(
        "warehouse" if source == "simulator" else "sample_warehouse"
    )
    spec = _spec(warehouse)
    ours = run_child("rawgwh", spec)
    theirs = run_child("polars", spec)
    assert len(ours["queries"]) == 10
    # 2,000 simulated games leave 01 and 06 empty (too few rated games per genre and year)
    empty = {q for q, e in ours["queries"].items() if e["row_count"] == 0}
    assert empty <= (
        {"01_top_genres_by_rating_per_year", "06_metacritic_vs_rating_by_genre"}
        if source == "simulator"
        else set()
    )
    assert set(POLARS_BY_HAND) <= set(ours["queries"])
    compare_answers({"rawgwh": _answers(ours), "polars": _answers(theirs)})


@pytest.mark.parametrize("source", ["simulator", "sample"])
def test_duckdb_iceberg_answers_like_rawgwh(
    source: str, request: pytest.FixtureRequest, duckdb_iceberg: None, tmp_path: Path
) -> None:
    warehouse = request.getfixturevalue(
        "warehouse" if source == "simulator" else "sample_warehouse"
    )
    spec = write_spec(tmp_path / "spec.json", warehouse, load_queries(), runs=2, rows=True)
    ours, _, _ = run_engine("rawgwh", spec, tmp_path / "rawgwh.json")
    theirs, seconds, rss = run_engine("duckdb-iceberg", spec, tmp_path / "duckdb.json")
    assert theirs["version"] == "1.5.5"
    assert all(len(e["seconds"]) == 2 for e in theirs["queries"].values())
    assert all(e["first_seconds"] > 0 for e in theirs["queries"].values())
    # the interpreter `uv run` starts reports its own peak; wait4 sees at least that much
    assert 20 < theirs["self_peak_rss_mb"] <= rss * 1.05 and seconds > 0
    compare_answers({"rawgwh": _answers(ours), "duckdb-iceberg": _answers(theirs)})


def test_a_wrong_answer_stops_the_run(warehouse: Path, polars_planner: None) -> None:
    answers = _answers(run_child("rawgwh", _spec(warehouse)))
    broken = json.loads(json.dumps(answers))
    broken["05_esrb_mix_by_year"]["rows"][0][2] += 1  # one count off
    with pytest.raises(AnswerMismatch, match="^05_esrb_mix_by_year: polars disagrees"):
        compare_answers({"rawgwh": answers, "polars": broken})


def _count_sql() -> dict[str, str]:
    return {"count": "SELECT count(*) AS games FROM fact_games"}


def test_engines_read_the_snapshot_they_are_given(
    warehouse: Path, tmp_path: Path, polars_planner: None
) -> None:
    """An older fact_games snapshot in the spec is what DuckDB-iceberg and Polars read."""
    from rawgwh.settings import Settings
    from rawgwh.warehouse.catalog import Warehouse
    from rawgwh.warehouse.publish import publish_star

    # the fixture's raw zone, with a star of its own published twice
    copy = common.raw_only_copy(warehouse.parent / f"raw-{GAMES}", tmp_path / "wh")
    wh = Warehouse.open(Settings(warehouse=str(copy)))
    gone = int(wh.catalog.load_table(("raw", "games")).scan(limit=1).to_arrow()["id"][0])
    with wh.lock():
        publish_star(wh, sync_id="first")
    first = star_tables(copy)["fact_games"]["snapshot"]
    with wh.lock():
        publish_star(wh, sync_id="second", changed_ids=[], deleted_ids=[gone])
    tables = star_tables(copy)
    assert tables["fact_games"]["snapshot"] != first
    latest = run_child("polars", _spec(copy, queries=_count_sql()))
    assert latest["queries"]["count"]["rows"] == [[GAMES - 1]]
    tables["fact_games"]["snapshot"] = first
    older = _spec(copy, queries=_count_sql(), tables=tables)
    assert run_child("polars", older)["queries"]["count"]["rows"] == [[GAMES]]
    if prepare_duckdb_iceberg() is None:
        spec = tmp_path / "older.json"
        spec.write_text(json.dumps(older))
        result, _, _ = run_engine("duckdb-iceberg", spec, tmp_path / "out.json")
        assert result["queries"]["count"]["rows"] == [[GAMES]]


def test_measure_size_records_every_engine_and_query(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common, "published_warehouse", lambda games, workdir: warehouse)
    monkeypatch.setenv("POLARS_ICEBERG_PLANNER", "pyiceberg")
    systems = ["rawgwh", "polars"]
    section = common.Section(name="query", title="t", command="c")
    measure_size(section, GAMES, systems, 2, tmp_path, inner_runs=3)
    cases = {s.case for s in section.samples}
    assert cases == {f"q{i:02d}" for i in range(1, 11)} | {ALL_TEN}
    for system in systems:
        whole = section.sample(system, ALL_TEN, GAMES)
        assert whole is not None and len(whole.seconds) == 2 and len(whole.peak_rss_mb) == 2
        one = section.sample(system, "q02", GAMES)
        assert one is not None and len(one.seconds) == 6 and one.extra["rows"] > 0
        # each round's total adds up the ten queries' medians of that round's three runs
        per_round = [
            sum(
                statistics.median(s.seconds[3 * r : 3 * r + 3])
                for s in section.samples
                if s.system == system and s.case != ALL_TEN
            )
            for r in range(2)
        ]
        assert per_round == pytest.approx(whole.seconds)
        # the untimed first runs (rawgwh's read Parquet before any table is in memory)
        assert whole.extra["first_runs_total_ms"] > 0
    assert {s.system for s in section.samples} == set(systems)  # the diagnostic is no rival
    whole = section.sample("rawgwh", ALL_TEN, GAMES)
    assert whole is not None and set(whole.extra["duckdb_memory_ms"]) == cases - {ALL_TEN}
    assert all(ms > 0 for ms in whole.extra["duckdb_memory_ms"].values())
    assert whole.extra["duckdb_memory_total_ms"] > 0
    assert not any(k.startswith(("plain_views", "one_fact_file")) for k in whole.extra)
    assert whole.extra["fact_games_files"] == 1  # the star's layout now: one fact file
    notes = target_notes(section, systems)
    assert len(notes) == 1 and notes[0].startswith(f"{GAMES:,} games: rawgwh ")


def test_only_the_in_memory_diagnostic_is_left() -> None:
    assert set(ENGINES) == {"rawgwh", "polars", MEMORY}


@pytest.mark.parametrize("source", ["simulator", "sample"])
def test_duckdb_memory_answers_like_rawgwh_from_tables_in_memory(
    source: str, request: pytest.FixtureRequest
) -> None:
    warehouse = request.getfixturevalue(
        "warehouse" if source == "simulator" else "sample_warehouse"
    )
    spec = _spec(warehouse)
    ours = run_child("rawgwh", spec)
    theirs = run_child(MEMORY, spec)
    assert theirs["version"] == ours["version"]  # the same DuckDB as rawgwh's engine
    compare_answers({"rawgwh": _answers(ours), MEMORY: _answers(theirs)})
    # the star tables are DuckDB tables (in memory), not views over the Parquet files
    listing = {
        "tables": "SELECT table_name FROM duckdb_tables() ORDER BY 1",
        "views": "SELECT view_name FROM duckdb_views() WHERE NOT internal",
    }
    found = run_child(MEMORY, _spec(warehouse, queries=listing))["queries"]
    assert [r[0] for r in found["tables"]["rows"]] == sorted(star_tables(warehouse))
    assert found["views"]["rows"] == []
    # and the sandbox is rawgwh's: nothing may be written
    with pytest.raises(QueryError, match="^read-only: "):
        run_child(MEMORY, _spec(warehouse, queries={"x": "CREATE TABLE t AS SELECT 1"}))


def _timed_section(ours_ms: float, rival_ms: float, in_memory_ms: float) -> common.Section:
    """rawgwh and Polars on q09 and q10 (q10 equal), with the in-memory diagnostic's q09."""
    samples = [
        common.Sample("rawgwh", "q09", 10_000, [ours_ms / 1000] * 3),
        common.Sample("polars", "q09", 10_000, [rival_ms / 1000] * 3),
        common.Sample("rawgwh", "q10", 10_000, [0.002] * 3),
        common.Sample("polars", "q10", 10_000, [0.002] * 3),
    ]
    extra = {"duckdb_memory_ms": {"q09": in_memory_ms, "q10": 1.0}}
    samples.append(common.Sample("rawgwh", ALL_TEN, 10_000, [0.02], [100.0], extra))
    return common.Section(name="query", title="t", command="c", samples=samples)


def test_a_slow_query_is_split_into_reading_and_execution() -> None:
    (note,) = target_notes(_timed_section(10.1, 8.3, 4.0), ["rawgwh", "polars"])
    assert note == (
        "10,000 games: rawgwh over 1.2x the faster rival on q09 10.1 ms vs polars 8.3 ms "
        "(1.22x; DuckDB on tables already in memory 4.0 ms: 60% of rawgwh's time is reading "
        "Parquet)"
    )
    (note,) = target_notes(_timed_section(20.0, 10.0, 15.0), ["rawgwh", "polars"])
    assert "q09 20.0 ms vs polars 10.0 ms (2.00x; " in note
    assert "in memory 15.0 ms: 25% of rawgwh's time is reading Parquet)" in note
    (note,) = target_notes(_timed_section(20.0, 10.0, 21.0), ["rawgwh", "polars"])
    assert "in memory 21.0 ms: none of rawgwh's time is reading Parquet" in note
    assert "q10" not in note  # within the target: no diagnosis


def test_within_target_the_diagnostic_is_not_mentioned() -> None:
    (note,) = target_notes(_timed_section(9.0, 8.3, 4.0), ["rawgwh", "polars"])
    assert note == (
        "10,000 games: rawgwh within 1.2x of the faster rival on every query "
        "(least favourable q09 at 1.08x)"
    )


def _open(path: Path) -> Warehouse:
    from rawgwh.settings import Settings
    from rawgwh.warehouse.catalog import Warehouse

    return Warehouse.open(Settings(warehouse=str(path)))


def test_the_cache_is_published_again_when_its_layout_is_older(
    warehouse: Path, tmp_path: Path
) -> None:
    """A cached star from an older rawgwh (fact_games partitioned by release year, sorted
    by year then id) is published again; a current one is reused as it is."""
    # the fixture's raw zone as this workdir's cached raw-<N> (same files, own catalog)
    common.raw_only_copy(warehouse.parent / f"raw-{GAMES}", tmp_path / f"raw-{GAMES}")
    star = common.published_warehouse(GAMES, tmp_path)
    first = star_tables(star)
    assert common.star_layout(_open(star)) == common.expected_star_layout()
    assert common.published_warehouse(GAMES, tmp_path) == star
    assert star_tables(star) == first  # reused: nothing published again

    from pyiceberg.transforms import IdentityTransform

    fact = _open(star).catalog.load_table(("star", "fact_games"))
    with fact.update_spec() as spec:
        spec.add_identity("release_year")
    with fact.update_sort_order() as order:
        order.asc("release_year", IdentityTransform()).asc("game_id", IdentityTransform())
    old = common.star_layout(_open(star))
    assert old["fact_games"]["partition"] == ["release_year identity"]
    assert old != common.expected_star_layout()

    assert common.published_warehouse(GAMES, tmp_path) == star
    again = star_tables(star)
    assert again["fact_games"]["snapshot"] != first["fact_games"]["snapshot"]
    wh = _open(star)
    assert common.star_layout(wh) == common.expected_star_layout()
    assert wh.catalog.load_table(("star", "fact_games")).spec().is_unpartitioned()
    assert common.raw_games_count(star) == GAMES


def test_the_expected_layout_is_what_star_zone_creates() -> None:
    expected = common.expected_star_layout()
    assert all(layout["partition"] == [] for layout in expected.values())
    assert expected["fact_games"]["sort"] == ["game_id identity ASC NULLS FIRST"]
    assert expected["dim_date"]["sort"] == ["date_key identity ASC NULLS FIRST"]
    assert expected["fact_games"]["write"]["write.parquet.compression-codec"] == "zstd"


class _DisagreeingDremio:
    def answers(self, queries: Mapping[str, str]) -> dict[str, Any]:
        return {q: {"columns": ["x"], "rows": []} for q in queries}

    def timings(self, queries: Mapping[str, str], repeat: int) -> dict[str, list[float]]:
        raise AssertionError("a Dremio that disagrees is not timed")


def test_a_disagreeing_dremio_is_reported_not_run(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common, "published_warehouse", lambda games, workdir: warehouse)
    section = common.Section(name="query", title="t", command="c")
    measure_size(section, GAMES, ["rawgwh"], 1, tmp_path, _DisagreeingDremio())
    assert section.not_run["dremio"].startswith(f"at {GAMES:,} games: 01_top_genres")
    assert "dremio returned columns ['x']" in section.not_run["dremio"]
    assert all(s.system == "rawgwh" for s in section.samples)
    assert os.environ.get("DREMIO_URL") is None
