"""Sync end to end: the real client over HTTP to the simulator, into a real Iceberg raw zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from helpers import latest, make_settings, raw_games, settings_toml

from rawgwh.errors import AuthError, BudgetExhausted, UnreachableError
from rawgwh.source.simulator import Faults, Simulator
from rawgwh.sync import sync
from rawgwh.warehouse.catalog import Warehouse
from rawgwh.warehouse.raw_zone import RawZone

KEY = "test-key-1234"

# Run on the embedded warehouse and on the full stack (Nessie + S3).
pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def sim() -> Simulator:
    return Simulator.synthetic(n_games=1_200, seed=7)


@pytest.fixture
def served(sim: Simulator) -> Iterator[str]:
    with sim.serve(port=0, api_key=KEY) as url:
        yield url


def expected(sim: Simulator) -> pl.DataFrame:
    rows = [(r["id"], r["updated"]) for r in sim.records()]
    return pl.DataFrame(rows, schema={"id": pl.Int64, "updated": pl.String}, orient="row").sort(
        "id"
    )


def stored(settings: Any) -> pl.DataFrame:
    frame = latest(raw_games(settings)).select(
        "id", pl.col("updated").dt.strftime("%Y-%m-%dT%H:%M:%S")
    )
    return frame.sort("id")


def test_backfill_lands_every_game_once(sim: Simulator, served: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "wh", served, window_limit=150, batch_games=300)
    result = sync(settings)
    assert result.mode == "backfill"
    assert stored(settings).equals(expected(sim))
    raw = raw_games(settings)
    assert raw.height == len(sim)  # no version twice
    assert result.commits >= 4  # batches, not one big commit
    state = RawZone(Warehouse.open(settings)).state()
    assert state.run is None and state.watermark is not None


def test_second_sync_is_cheap_and_adds_nothing(sim: Simulator, served: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "wh", served)
    sync(settings)
    before = raw_games(settings).height
    sim.stats.reset()
    result = sync(settings)
    assert result.mode == "incremental"
    assert result.games_added == 0
    assert sim.stats.requests <= 3
    assert raw_games(settings).height == before


def test_incremental_fetches_only_changed_games(
    sim: Simulator, served: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "wh", served)
    sync(settings)
    changed = sim.touch(n=60, seed=3)
    added = sim.add(n=5)
    sim.stats.reset()
    result = sync(settings)
    assert result.mode == "incremental"
    assert result.games_added == 65
    assert sim.stats.requests <= 5  # 65 games: two pages, plus keyset overlap
    assert stored(settings).equals(expected(sim))
    new_rows = raw_games(settings).filter(pl.col("_sync_id") == result.sync_id)
    assert set(new_rows["id"]) == set(changed) | set(added)


def test_interrupted_sync_resumes_without_refetching(
    sim: Simulator, served: str, tmp_path: Path
) -> None:
    full = make_settings(tmp_path / "ref", served, concurrency=2)
    sync(full)
    requests_full = sim.stats.requests
    sim.stats.reset()

    settings = make_settings(
        tmp_path / "wh", served, max_requests=12, batch_games=80, concurrency=2
    )
    with pytest.raises(BudgetExhausted, match="run the same command again"):
        sync(settings)
    partial = raw_games(settings).height
    assert 0 < partial < len(sim)
    state = RawZone(Warehouse.open(settings)).state()
    assert state.run is not None and state.watermark is None
    rounds = 1
    while True:
        try:
            result = sync(settings)
            break
        except BudgetExhausted:
            rounds += 1
            assert rounds < 20
    assert result.resumed
    assert stored(settings).equals(expected(sim))
    assert raw_games(settings).height == len(sim)
    # Committed pages are not paid for again: a few repeated probes at most.
    assert sim.stats.requests <= requests_full + 2 * rounds


def test_faults_are_survived(tmp_path: Path) -> None:
    sim = Simulator.synthetic(n_games=800, seed=11)
    faults = Faults.all(rate=0.25, seed=5)
    with sim.serve(port=0, api_key=KEY, faults=faults) as url:
        settings = make_settings(tmp_path / "wh", url, max_retries=10)
        result = sync(settings)
        assert result.retries > 0
        sim.touch(n=30, seed=1)
        sync(settings)
    assert stored(settings).equals(expected(sim))


def test_wrong_key_is_one_clear_error(served: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "wh", served, api_key="wrong-key-999")
    with pytest.raises(AuthError) as info:
        sync(settings)
    message = str(info.value)
    assert "RAWG_API_KEY" in message and "wrong-key-999" not in message
    assert "\n" not in message


def test_unreachable_base_url(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "wh", "http://127.0.0.1:9/api", max_retries=1)
    with pytest.raises(UnreachableError, match="--base-url"):
        sync(settings)


def test_real_sample_lands_exactly(
    sample_path: Path, sample_records: list[dict[str, Any]], tmp_path: Path
) -> None:
    sim = Simulator.from_file(sample_path)
    with sim.serve(port=0, api_key=KEY) as url:
        settings = make_settings(tmp_path / "wh", url)
        result = sync(settings)
    raw = raw_games(settings)
    assert result.games_added == raw.height == len(sample_records) == 10_000
    assert raw["id"].n_unique() == 10_000
    for column in (
        "platforms",
        "stores",
        "genres",
        "tags",
        "ratings",
        "parent_platforms",
        "short_screenshots",
    ):
        want = sum(len(r.get(column) or []) for r in sample_records)
        got = raw[column].list.len().fill_null(0).sum()
        assert got == want, column


def test_windows_split_when_too_large(sim: Simulator, served: str, tmp_path: Path) -> None:
    from rawgwh.sync import SyncProgress

    progress = SyncProgress()
    settings = make_settings(tmp_path / "wh", served, window_limit=100)
    sync(settings, progress=progress)
    assert progress.extract.windows_split >= 3
    assert stored(settings).equals(expected(sim))


def test_incremental_pages_through_a_second_shared_by_many_games(
    sim: Simulator, served: str, tmp_path: Path
) -> None:
    """Synthetic data, like real RAWG, has a bulk-update second shared by hundreds of games:
    keyset pagination cannot step past it and must page through it by offset."""
    from datetime import datetime

    from rawgwh.raw import empty_games, rejects_table
    from rawgwh.raw.state import SyncState

    updated = [r["updated"] for r in sim.records()]
    busiest = max(set(updated), key=updated.count)
    assert updated.count(busiest) > 40  # more than a page in one second
    watermark = "2000-01-01T00:00:00"
    settings = make_settings(tmp_path / "wh", served)
    zone = RawZone(Warehouse.open(settings, create=True))
    zone.commit(
        empty_games(),
        rejects_table([], sync_id="seed", fetched_at=datetime(2026, 1, 1)),
        SyncState(watermark=watermark),
        sync_id="seed",
    )
    sim.stats.reset()
    result = sync(settings)
    assert result.mode == "incremental"
    same_second = [
        log
        for log in sim.stats.log
        if "updated" in log.params and len(set(log.params["updated"].split(","))) == 1
    ]
    assert same_second, "the shared second was not paged through by offset"
    want = expected(sim).filter(pl.col("updated") >= watermark)
    assert stored(settings).equals(want)
    assert raw_games(settings).height == want.height


def test_sync_publishes_the_star_and_keeps_it_current(
    sim: Simulator, served: str, tmp_path: Path
) -> None:
    from rawgwh.query.warehouse import open_warehouse_engine

    settings = make_settings(tmp_path / "wh", served)
    first = sync(settings)
    assert first.published is not None and first.published.mode == "full"
    changed = sim.touch(n=15, seed=8)
    second = sync(settings)
    assert second.published is not None and second.published.mode == "incremental"
    assert second.published.games_built == 15
    third = sync(settings)
    assert third.published is None  # nothing changed: no new snapshots
    with open_warehouse_engine(settings) as engine:
        facts = pl.from_arrow(
            engine.query(
                "SELECT game_id, strftime(updated, '%Y-%m-%dT%H:%M:%S') AS updated FROM fact_games"
            )
        )
    assert isinstance(facts, pl.DataFrame)
    want = expected(sim)
    assert facts.sort("game_id").rename({"game_id": "id"}).equals(want)
    assert set(changed) <= set(facts["game_id"])


def test_killed_sync_resumes_and_converges(tmp_path: Path) -> None:
    """SIGKILL a real `rawgwh sync` process after its first raw commit, then run it again."""
    import signal
    import subprocess
    import sys
    import time

    sim = Simulator.synthetic(n_games=1_500, seed=21)
    config = tmp_path / "rawgwh.toml"
    wh = tmp_path / "wh"
    faults = Faults(rate=1.0, kinds={"slow"}, slow_seconds=0.02, seed=1)
    with sim.serve(port=0, api_key=KEY, faults=faults) as url:
        settings = make_settings(wh, url)
        config.write_text(settings_toml(settings, batch_games=200, concurrency=1))
        args = [sys.executable, "-m", "rawgwh", "sync", "-q", "--base-url", url]
        env = {"RAWG_API_KEY": KEY, "PATH": "/usr/bin:/bin", "RAWGWH_CONFIG": str(config)}
        proc = subprocess.Popen(args, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            time.sleep(0.2)
            try:
                if raw_games(settings).height > 0:
                    break
            except Exception:  # the warehouse is still being created
                continue
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        partial = raw_games(settings).height
        assert 0 < partial < len(sim)
        assert RawZone(Warehouse.open(settings)).state().run is not None
        sim.stats.reset()
        done = subprocess.run(args, env=env, timeout=120)
        assert done.returncode == 0
    assert stored(settings).equals(expected(sim))
    assert raw_games(settings).height == len(sim)
    # Only what was not committed is fetched again: about the unfetched share of the pages.
    pages_left = (len(sim) - partial) / 40
    assert sim.stats.requests <= pages_left + 12


def test_interrupted_sync_of_split_windows_resumes_exactly(
    sim: Simulator, served: str, tmp_path: Path
) -> None:
    """Windows split by their first page's release dates: a run cut short by its request
    budget again and again still lands every game once, paying little for the restarts."""
    from rawgwh.sync import SyncProgress

    full = make_settings(tmp_path / "ref", served, window_limit=100, concurrency=2)
    sync(full, publish=False)
    requests_full = sim.stats.requests
    sim.stats.reset()

    settings = make_settings(
        tmp_path / "wh", served, window_limit=100, max_requests=12, batch_games=80, concurrency=2
    )
    progress = SyncProgress()
    rounds = 0
    while True:
        rounds += 1
        assert rounds < 30
        try:
            sync(settings, progress=progress, publish=False)
            break
        except BudgetExhausted:
            continue
    assert progress.extract.windows_split >= 1
    assert stored(settings).equals(expected(sim))
    assert raw_games(settings).height == len(sim)
    # A restart re-counts the windows it had not finished and re-splits the unfetched gaps.
    assert sim.stats.requests <= requests_full + 4 * rounds, (sim.stats.requests, requests_full)


def test_without_a_date_header_a_resumed_backfill_keeps_its_first_runs_watermark(
    sim: Simulator, served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server that sends no Date header: the run's start is our clock at its first page,
    # kept across the resume, so updates made between the two runs are fetched next time.
    from rawgwh.source import client
    from rawgwh.sync import WATERMARK_MARGIN

    monkeypatch.setattr(client, "_server_time", lambda response: None)
    settings = make_settings(tmp_path / "wh", served, max_requests=12, batch_games=80)
    before = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with pytest.raises(BudgetExhausted):
        sync(settings)
    state = RawZone(Warehouse.open(settings)).state()
    assert state.run is not None and state.run.started is not None
    started = datetime.fromisoformat(state.run.started)
    assert before <= started <= datetime.now(UTC).replace(tzinfo=None)

    unlimited = make_settings(tmp_path / "wh", served)
    assert sync(unlimited).resumed
    state = RawZone(Warehouse.open(settings)).state()
    assert state.watermark == (started - WATERMARK_MARGIN).isoformat(timespec="seconds")


def test_games_released_in_any_year_are_fetched(
    tmp_path: Path, sample_records: list[dict[str, Any]]
) -> None:
    # The API does not bound `released`: placeholder or mistyped years must land too.
    import gzip

    import orjson

    records = [dict(r) for r in sample_records[:120]]
    years = ["1899-06-01", "0101-01-01", "2100-01-01", "9999-12-31"]
    for record, released in zip(records, years, strict=False):
        record["released"] = released
    path = tmp_path / "games.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(orjson.dumps(r) for r in records)))
    sim = Simulator.from_file(path)
    with sim.serve(port=0, api_key=KEY) as url:
        settings = make_settings(tmp_path / "wh", url, window_limit=50)
        sync(settings, publish=False)
    assert stored(settings).equals(expected(sim))
    assert len(stored(settings)) == 120


def test_a_game_leaving_a_shared_second_while_it_is_paged_costs_no_other_game(
    sim: Simulator, served: str, tmp_path: Path
) -> None:
    """Paging through one ``updated`` second by offset: a game of that second updated again
    meanwhile moves out of it, and every later game of the second moves back one place."""
    from rawgwh.raw import empty_games, rejects_table
    from rawgwh.raw.state import SyncState

    updated = [(r["updated"], r["id"]) for r in sim.records()]
    busiest = max({u for u, _ in updated}, key=[u for u, _ in updated].count)
    crowd = sorted(i for u, i in updated if u == busiest)
    assert len(crowd) > 80  # pages 2 and 3 of the second are read by offset
    settings = make_settings(tmp_path / "wh", served)
    RawZone(Warehouse.open(settings, create=True)).commit(
        empty_games(),
        rejects_table([], sync_id="seed", fetched_at=datetime(2026, 1, 1)),
        SyncState(watermark="2000-01-01T00:00:00"),
        sync_id="seed",
    )
    record, moved = sim.stats._record, []

    def record_and_update(path: str, params: dict[str, str], *args: Any) -> None:
        record(path, params, *args)
        # After the second's page 2 is served, the first game of that second is edited.
        second = params.get("updated") == f"{busiest},{busiest}"
        if second and params.get("page") == "2" and not moved:
            moved.extend(sim.touch_ids(crowd[:1]))

    sim.stats._record = record_and_update  # type: ignore[method-assign]
    sync(settings, publish=False)
    assert moved
    sync(settings, publish=False)  # the edited game is caught up by the next run
    assert stored(settings).equals(expected(sim).filter(pl.col("updated") >= "2000-01-01"))


def test_undated_games_given_a_date_between_runs_cost_no_other_game(tmp_path: Path) -> None:
    """A backfill stopped inside the undated walk resumes later; meanwhile some undated
    games already read got a release date, and every later undated game moved back."""
    import gzip

    import orjson

    records = [
        {"id": i, "name": f"Game {i}", "released": None if i > 10 else "2015-01-01"}
        | {"updated": f"2020-01-01T00:{i // 60:02d}:{i % 60:02d}"}
        for i in range(1, 401)
    ]
    path = tmp_path / "games.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(orjson.dumps(r) for r in records)))
    sim = Simulator.from_file(path)
    with sim.serve(port=0, api_key=KEY) as url:
        budget = make_settings(tmp_path / "wh", url, max_requests=5, concurrency=1)
        with pytest.raises(BudgetExhausted):
            sync(budget, publish=False)
        state = RawZone(Warehouse.open(budget)).state()
        assert state.run is not None and state.run.windows.get("undated:desc") is not None
        read = raw_games(budget).filter(pl.col("released").is_null())["id"].to_list()
        assert len(read) >= 80
        sim.release_ids(read[:30], "2016-06-01")
        settings = make_settings(tmp_path / "wh", url)
        assert sync(settings, publish=False).resumed
        sync(settings, publish=False)  # the games given a date are caught up by the next run
    assert stored(settings).equals(expected(sim))
