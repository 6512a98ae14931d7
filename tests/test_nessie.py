"""Publishing on Nessie: staged on a branch, merged in one commit, failures kept aside.

These run against the real stack (tests/stack.py): a Nessie server with its Iceberg REST
catalog on a moto S3 server, both on loopback.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import pyarrow as pa
import pytest
from helpers import StackTarget, make_settings, run_cli, settings_toml
from stack import StackInfo, branch_hash

from rawgwh.errors import ValidationFailed
from rawgwh.query.warehouse import open_warehouse_engine
from rawgwh.settings import Settings
from rawgwh.source.simulator import Simulator
from rawgwh.sync import sync
from rawgwh.warehouse.catalog import Warehouse
from rawgwh.warehouse.nessie import Nessie
from rawgwh.warehouse.publish import changed_since_publish, publish, sync_branch
from rawgwh.warehouse.star_zone import StarZone, sync_id_of

KEY = "test-key-1234"


@pytest.fixture
def target(stack: StackInfo, nessie_branch: str) -> StackTarget:
    return StackTarget.on(stack, nessie_branch)


@pytest.fixture
def sim() -> Simulator:
    return Simulator.synthetic(n_games=600, seed=11)


@pytest.fixture
def served(sim: Simulator) -> Iterator[str]:
    with sim.serve(port=0, api_key=KEY) as url:
        yield url


def stack_settings(target: StackTarget, base_url: str, **overrides: object) -> Settings:
    import helpers

    helpers.BACKEND = target
    try:
        return make_settings(Path("/nonexistent/stack"), base_url, **overrides)
    finally:
        helpers.BACKEND = None


def star_sync_ids(warehouse: Warehouse) -> dict[str, str | None]:
    """Each star table's current snapshot's sync id, as a reader of ``warehouse`` sees it."""
    zone = StarZone(warehouse, create=False)
    return {name: sync_id_of(t.current_snapshot()) for name, t in zone.tables.items()}


def test_readers_of_the_target_see_a_publish_whole_or_not_at_all(
    target: StackTarget, sim: Simulator, served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = stack_settings(target, served)
    first = sync(settings)
    assert first.published is not None
    sim.touch(60, seed=3)
    seen: dict[str, dict[str, str | None]] = {}
    real_merge = Nessie.merge

    def merge_and_look(self: Nessie, source: str, into: str, message: str) -> str:
        # The moment between the staged publish and its merge: the worst time to read.
        seen["target"] = star_sync_ids(Warehouse.open(settings))
        seen["staged"] = star_sync_ids(Warehouse.open(settings, ref=source))
        return real_merge(self, source, into, message)

    monkeypatch.setattr(Nessie, "merge", merge_and_look)
    second = sync(settings)
    assert second.published is not None and second.published.mode == "incremental"
    assert set(seen["target"].values()) == {first.sync_id}
    assert set(seen["staged"].values()) == {second.sync_id}
    after = star_sync_ids(Warehouse.open(settings))
    assert set(after.values()) == {second.sync_id}
    # The staging branch is gone once merged.
    assert branch_hash_of(settings, sync_branch(second.sync_id)) is None


def branch_hash_of(settings: Settings, branch: str) -> str | None:
    nessie = Nessie.probe(settings.catalog["uri"])
    assert nessie is not None
    return nessie.hash_of(branch)


def test_a_reader_polling_during_syncs_never_sees_a_mix(
    target: StackTarget, sim: Simulator, served: str
) -> None:
    """A reader in another thread, reading all the time while three syncs publish."""
    settings = stack_settings(target, served)
    sync(settings)
    observed: list[dict[str, str | None]] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            while not stop.is_set():
                warehouse = Warehouse.open(settings)
                zone = StarZone(warehouse, create=False)
                ids = {name: sync_id_of(t.current_snapshot()) for name, t in zone.tables.items()}
                marker = zone.marker()
                assert marker is not None and set(ids.values()) == {marker.sync_id}, ids
                observed.append(ids)
        except BaseException as e:  # surfaced in the main thread
            errors.append(e)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        results = []
        for round_ in range(3):
            sim.touch(40, seed=round_)
            results.append(sync(settings))
    finally:
        stop.set()
        reader.join(60)
    assert not errors, errors[0]
    assert all(r.published is not None for r in results)
    distinct = {next(iter(ids.values())) for ids in observed}
    assert len(observed) >= 3 and len(distinct) >= 2  # it did read across publishes


def test_a_failed_check_leaves_the_target_alone_and_keeps_the_branch(
    target: StackTarget,
    sim: Simulator,
    served: str,
    stack: StackInfo,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    settings = stack_settings(target, served)
    first = sync(settings)
    before = branch_hash(stack, target.branch)
    sim.touch(30, seed=5)
    sync(settings, publish=False)
    after_raw = branch_hash(stack, target.branch)
    assert after_raw != before  # the raw zone moved on; the star must not

    def failing(tables: Mapping[str, pa.Table], expected: int | None) -> None:
        raise ValidationFailed("1 check failed: planted_failure")

    with Warehouse.for_writing(settings) as warehouse:
        changed = changed_since_publish(warehouse)
        with pytest.raises(ValidationFailed) as info:
            publish(warehouse, sync_id="bad-1", changed_ids=changed, validator=failing)
    staged = sync_branch("bad-1")
    message = str(info.value)
    assert "planted_failure" in message and staged in message and "--ref" in message
    assert branch_hash(stack, target.branch) == after_raw  # target untouched by the publish
    assert branch_hash(stack, staged) is not None  # kept for inspection
    assert set(star_sync_ids(Warehouse.open(settings)).values()) == {first.sync_id}
    assert set(star_sync_ids(Warehouse.open(settings, ref=staged)).values()) == {"bad-1"}
    # The failed candidate can be queried from the command line.
    config = tmp_path / "rawgwh.toml"
    config.write_text(settings_toml(settings))
    sql = "SELECT count(*) AS n FROM fact_games"
    code, out, err = run_cli(
        ["query", "--config", str(config), "--ref", staged, "-f", "csv", sql], capsys
    )
    assert code == 0, err
    assert out.split() == ["n", str(len(sim))]
    Nessie.probe(settings.catalog["uri"]).delete_branch(staged)  # type: ignore[union-attr]


def test_sync_branch_and_query_ref_from_the_command_line(
    target: StackTarget,
    sim: Simulator,
    served: str,
    tmp_path: Path,
    stack: StackInfo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = stack_settings(target, served)
    config = tmp_path / "rawgwh.toml"
    config.write_text(settings_toml(settings))
    feature = f"{target.branch}-feature"
    untouched = branch_hash(stack, target.branch)
    code, _, err = run_cli(
        [
            "sync",
            "-q",
            "--config",
            str(config),
            "--base-url",
            served,
            "--api-key",
            KEY,
            "--branch",
            feature,
        ],
        capsys,
    )
    assert code == 0, err
    assert branch_hash(stack, feature) is not None
    sql = "SELECT count(*) AS n FROM fact_games"
    code, out, err = run_cli(
        ["query", "--config", str(config), "--ref", feature, "-f", "csv", sql], capsys
    )
    assert code == 0, err
    assert out.split() == ["n", str(len(sim))]
    # The configured branch got nothing: the sync went to the feature branch only.
    assert branch_hash(stack, target.branch) == untouched
    code, _, err = run_cli(
        ["query", "--config", str(config), "--ref", "no-such-branch", sql], capsys
    )
    assert code == 1
    assert err.count("\n") == 1 and "no branch 'no-such-branch'" in err
    with open_warehouse_engine(settings.with_(branch=feature)) as engine:
        assert engine.query(sql).column(0).to_pylist() == [len(sim)]


@pytest.mark.parametrize("reader", ["arrow", "fsspec"])
def test_a_kept_engine_loads_tables_on_s3_read_again(
    target: StackTarget, served: str, reader: str
) -> None:
    settings = stack_settings(target, served)
    sync(settings)
    sql = (
        "SELECT g.name, count(*) AS games FROM fact_games f JOIN bridge_game_genre b "
        "USING (game_id) JOIN dim_genre g USING (genre_key) GROUP BY ALL ORDER BY ALL"
    )
    with open_warehouse_engine(settings, remote_reader=reader) as engine:
        first = engine.query(sql)
        assert engine.cached == ()
        assert engine.query(sql) == first  # now from memory
        assert set(engine.cached) == {"fact_games", "bridge_game_genre", "dim_genre"}
        assert engine.query(sql) == first


def test_ref_on_the_embedded_warehouse_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(
        ["query", "-w", str(tmp_path / "wh"), "--ref", "main", "SELECT 1"], capsys
    )
    assert code == 1 and err.count("\n") == 1
    assert "Nessie" in err or "no warehouse" in err


def test_as_of_reads_the_branch_as_it_was(
    target: StackTarget,
    sim: Simulator,
    served: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import time
    from datetime import UTC, datetime

    settings = stack_settings(target, served)
    sync(settings)
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    changed = sim.touch(25, seed=9)
    second = sync(settings)
    assert second.published is not None
    sql = "SELECT count(*) AS n FROM fact_games WHERE updated >= '2100-01-01' OR game_id IN ({})"
    sql = sql.format(", ".join(str(i) for i in changed))
    latest_sql = "SELECT max(updated) AS u FROM fact_games"
    with open_warehouse_engine(settings, as_of=between.isoformat()) as then:
        old_max = then.query(latest_sql).column(0)[0].as_py()
        assert then.query(sql).column(0)[0].as_py() == len(changed)
    with open_warehouse_engine(settings) as now:
        assert now.query(latest_sql).column(0)[0].as_py() > old_max
    config = tmp_path / "rawgwh.toml"
    config.write_text(settings_toml(settings))
    code, _, err = run_cli(
        ["query", "--config", str(config), "--as-of", "1234567890123", "SELECT 1"], capsys
    )
    assert code == 1 and err.count("\n") == 1 and "--ref BRANCH@HASH" in err
    code, _, err = run_cli(
        ["query", "--config", str(config), "--as-of", "2001-01-01T00:00:00", "SELECT 1"], capsys
    )
    assert code == 1 and "held nothing yet" in err


def test_an_unreachable_catalog_is_one_line_that_points_at_doctor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["status", "-w", str(tmp_path / "wh"), "--catalog-uri", "http://127.0.0.1:9/iceberg"]
    code, out, err = run_cli(args, capsys)
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "cannot reach the catalog at http://127.0.0.1:9/iceberg" in err
    assert "rawgwh doctor" in err and "Traceback" not in err


def test_a_branch_name_with_spaces_is_refused_with_an_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = "http://127.0.0.1:9/iceberg"
    args = ["sync", "-w", str(tmp_path / "wh"), "--catalog-uri", uri, "--branch", "a b"]
    code, _, err = run_cli(args, capsys)
    assert code == 1
    assert err.count("\n") == 1 and "not a valid branch name" in err and "--branch main" in err
