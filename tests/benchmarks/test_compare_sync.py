"""The dlt baseline lands the same games as rawgwh; the sync comparison counts and compares right.

Run with the bench group: ``uv run --group bench pytest tests/benchmarks/test_compare_sync.py``.
"""

from __future__ import annotations

import math
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

pytest.importorskip("dlt")

from benchmarks.baselines import dlt_pipeline  # noqa: E402
from benchmarks.compare import sync  # noqa: E402
from benchmarks.compare.common import (
    Sample,  # noqa: E402
    measure_child,  # noqa: E402
)
from rawgwh.source.simulator import Simulator  # noqa: E402

GAMES = 500


Rounds = dict[str, tuple[sync.Run, sync.Run, int]]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sync")


@pytest.fixture(scope="module")
def rounds(root: Path) -> Rounds:
    """One full + incremental round per tool at 500 games; folders kept for inspection."""
    return {
        sync.RAWGWH: sync.sync_round(sync.RawgwhTarget, GAMES, root / "rawgwh", keep=True),
        sync.DLT: sync.sync_round(sync.DltTarget, GAMES, root / "dlt", keep=True),
    }


def test_both_land_the_same_games_and_see_the_changed_ones(rounds: Rounds, root: Path) -> None:
    # Each round had its own simulator (same seed, same games changed); a change's new
    # `updated` is the wall clock at touch time, so compare against the unchanged catalogue.
    sim = Simulator.synthetic(GAMES, seed=sync.SEED)
    before = sync.truth(sim)
    changed = set(sim.touch(GAMES // 100, seed=sync.CHANGED_SEED))
    assert len(changed) == GAMES // 100
    landed = {
        sync.RAWGWH: sync.RawgwhTarget(root / "rawgwh").latest(),
        sync.DLT: sync.DltTarget(root / "dlt").latest(),
    }
    for system, table in landed.items():
        assert table["id"].equals(before["id"]), system
        old = dict(zip(before["id"].to_pylist(), before["updated"].to_pylist(), strict=True))
        now = dict(zip(table["id"].to_pylist(), table["updated"].to_pylist(), strict=True))
        assert {g for g in old if now[g] != old[g]} == changed, system
        assert all(now[g] > old[g] for g in changed), system
    for full, incr, n_changed in rounds.values():
        assert n_changed == len(changed)
        assert full.games == incr.games == GAMES
        assert full.rows_added == GAMES
        assert incr.rows_added == n_changed  # each fetched exactly the changed games


def test_reported_requests_match_each_client(rounds: Rounds, root: Path) -> None:
    # rawgwh records its own (client-side) request count in the raw zone's sync state.
    zone = sync.RawgwhTarget(root / "rawgwh")._zone()
    assert rounds[sync.RAWGWH][1].requests == zone.state().last.requests
    # dlt: every page once, plus the 404 one past the last page that ends the resource.
    pages = math.ceil(GAMES / 40)
    assert rounds[sync.DLT][0].requests == pages + 1
    assert rounds[sync.DLT][1].requests == 1 + 1


def test_requests_are_the_servers_count(tmp_path: Path) -> None:
    seen: list[int] = []
    sim = Simulator.synthetic(120, seed=3)
    with sim.serve(api_key=sync.API_KEY) as url:
        run = sync.timed(sync.RawgwhTarget(tmp_path / "r"), url, sim, incremental=False)
        seen.append(sim.stats.requests)
        assert sim.stats.by_status[200] == sim.stats.requests  # the key was accepted
    own = sync.RawgwhTarget(tmp_path / "r")._zone().state().last.requests
    # 3 pages of 40 plus rawgwh's look for undated games (ordering=-released)
    assert run.requests == seen[0] == own == 4
    assert run.disk_bytes > 0 and run.disk_files > 0


def _resident(mb: int) -> bytearray:
    block = bytearray(mb * 2**20)
    block[:: 2**12] = b"x" * len(range(0, len(block), 2**12))  # touch every page
    return block


def test_peak_memory_is_the_childs_own_not_this_processs() -> None:
    ballast = _resident(400)  # a child spawned from here would inherit this peak
    idle = measure_child([sys.executable, "-c", "pass"], dict(os.environ))
    code = "b = bytearray(300 * 2**20); b[::4096] = b'x' * len(range(0, len(b), 4096))"
    busy = measure_child([sys.executable, "-c", code], dict(os.environ))
    del ballast
    assert idle[2] == busy[2] == 0
    assert idle[1] < 100
    assert 300 < busy[1] < 400


def test_a_wrong_landing_fails_the_benchmark() -> None:
    want = pa.table({"id": [1, 2, 3], "updated": [10, 20, 30]})
    got = pa.table({"id": [1, 2, 4], "updated": [10, 25, 40]})
    with pytest.raises(RuntimeError, match="1 missing, 1 unexpected, 1 at an old version"):
        sync.check_same(want, got, "dlt")
    sync.check_same(want, want, "dlt")


def test_latest_versions_reads_text_and_timestamps_alike() -> None:
    text = pa.table({"id": [5, 5, 1], "updated": ["2020-01-01T00:00:00", "2021-01-01T00:00:01",
                                                 "2019-05-05T10:00:00"]})  # fmt: skip
    stamps = pa.table(
        {
            "id": pa.array([1, 5], pa.int32()),
            "updated": pa.array(
                [datetime(2019, 5, 5, 10, tzinfo=UTC), datetime(2021, 1, 1, 0, 0, 1, tzinfo=UTC)],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    a, b = sync.latest_versions(text), sync.latest_versions(stamps)
    assert a.equals(b)
    assert a["id"].to_pylist() == [1, 5]
    assert a["updated"].to_pylist()[1] == int(datetime(2021, 1, 1, 0, 0, 1, tzinfo=UTC).timestamp())


def _sample(system: str, case: str, size: int, secs: list[float], requests: int) -> Sample:
    return Sample(system, case, size, secs, [100.0] * len(secs), {"requests": requests})


def test_comparisons_use_medians_and_the_target_rule() -> None:
    samples = [
        _sample("rawgwh", sync.FULL, 10, [1.0, 2.0, 9.0], 250),
        _sample("dlt", sync.FULL, 10, [6.0, 5.0, 7.0], 251),  # 6 / 2 = 3.0: met
        _sample("rawgwh", sync.FULL, 20, [2.0], 252),
        _sample("dlt", sync.FULL, 20, [8.0], 251),  # 4x but more requests: not met
        _sample("rawgwh", sync.FULL, 30, [2.0], 10),
        _sample("dlt", sync.FULL, 30, [5.9], 10),  # 2.95x: not met
        _sample("rawgwh", sync.INCREMENTAL, 10, [0.5], 1),
        _sample("dlt", sync.INCREMENTAL, 10, [2.0], 2),
        _sample("rawgwh", sync.FULL, 40, [1.0], 1),  # no dlt sample: not compared
    ]
    got = {(c.case, c.size): c for c in sync.comparisons(samples)}
    assert set(got) == {(sync.FULL, 10), (sync.FULL, 20), (sync.FULL, 30), (sync.INCREMENTAL, 10)}
    assert got[(sync.FULL, 10)].speedup == pytest.approx(3.0)
    assert got[(sync.FULL, 10)].target_met
    assert got[(sync.FULL, 20)].speedup == pytest.approx(4.0)
    assert not got[(sync.FULL, 20)].target_met
    assert not got[(sync.FULL, 30)].target_met
    assert got[(sync.INCREMENTAL, 10)].speedup == pytest.approx(4.0)
    lines = sync.summarise(samples)
    assert len(lines) == 4
    assert lines[0].startswith("full sync, 10 games: rawgwh 2.00 s vs dlt 6.00 s = 3.00× faster")
    assert lines[0].endswith("met") and "NOT" not in lines[0]
    assert lines[1].endswith("NOT met") and "requests 252 vs 251" in lines[1]
    assert "target" not in lines[3]


def test_to_sample_takes_medians_of_the_runs() -> None:
    def run(seconds: float, requests: int, dest: int) -> sync.Run:
        disk = {"dest": (dest, 2), "pipelines": (5, 1)}
        return sync.Run(seconds, 50.0, requests, 1000, 10, disk)

    s = sync.to_sample("dlt", sync.INCREMENTAL, 1000, [run(1, 2, 10), run(4, 2, 30), run(2, 3, 20)],
                       changed=10)  # fmt: skip
    assert s.median_seconds == 2
    assert s.extra["requests"] == 2 and s.extra["requests_range"] == [2, 3]
    assert s.extra["games_per_s"] == 5  # 10 changed games / 2 s
    assert s.extra["dest_bytes"] == 20 and s.extra["pipelines_bytes"] == 5
    assert s.extra["disk_bytes"] == 25 and s.extra["disk_files"] == 3
    assert s.extra["changed"] == 10


def test_dlt_script_refuses_to_mix_up_full_and_incremental(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="run once without --incremental"):
        dlt_pipeline.run("http://127.0.0.1:9/api", tmp_path / "d", tmp_path / "p", incremental=True)
    (tmp_path / "p" / dlt_pipeline.PIPELINE).mkdir(parents=True)
    with pytest.raises(SystemExit, match="earlier run"):
        dlt_pipeline.run("http://127.0.0.1:9/api", tmp_path / "d", tmp_path / "p")


def test_dlt_cursor_is_sent_as_rawgs_updated_range() -> None:
    assert dlt_pipeline.updated_range("2025-11-20T12:00:00") == "2025-11-20T12:00:00,2100-01-01"
    when = datetime(2025, 11, 20, 12, tzinfo=UTC)
    assert dlt_pipeline.updated_range(when) == "2025-11-20T12:00:00,2100-01-01"
    config = dlt_pipeline.source_config("http://h/api", "k", merge=False)
    assert config["client"]["auth"]["location"] == "query"
    assert config["resource_defaults"]["write_disposition"] == "append"
    assert "auth" not in dlt_pipeline.source_config("http://h/api", None, merge=True)["client"]


def test_slow_note_states_the_estimate_and_the_real_time() -> None:
    note = sync.slow_note(1_000_000, 850.0, 2017.8, 5)
    assert "estimated at 1,176 s" in note and "it took 2,018 s" in note
    assert "1 warm-up + 5 runs" in note


def test_yearly_windows_cost_pages_plus_a_404_each_and_one_request_per_empty_year() -> None:
    from datetime import date

    def day(text: str) -> int:
        return (date.fromisoformat(text) - date(1970, 1, 1)).days

    released = [day("1999-03-01")] * 41 + [day("2001-12-31")] * 40 + [None, None]
    # 1999: 2 pages + 404; 2000: empty, 1 request; 2001: 1 page + 404
    assert sync.yearly_window_requests(released, page_size=40) == {
        "requests": 6,
        "windows": 3,
        "undated": 2,
    }
    assert sync.yearly_window_requests([None]) == {"requests": 0, "windows": 0, "undated": 1}
