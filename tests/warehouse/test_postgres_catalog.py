"""The shared SQL catalog on a real PostgreSQL server: sync, query, S3 files, two writers, CLI.

Every test gets a database of its own (catalog table names are per database) on the session's
throwaway cluster (tests/pg_fixture.py).
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pyarrow as pa
import pytest
import s3fs
import sqlalchemy
from helpers import latest, make_settings, raw_games, run_cli
from pg_fixture import new_database
from stack import StackInfo

from rawgwh.errors import WarehouseBusy
from rawgwh.query.warehouse import open_warehouse_engine
from rawgwh.settings import Settings
from rawgwh.source.simulator import Simulator
from rawgwh.sync import SyncProgress, sync
from rawgwh.warehouse.catalog import COMMIT_RETRIES, Warehouse
from rawgwh.warehouse.publish import check_published, publish_star, validate_star
from rawgwh.warehouse.raw_zone import RAW_GAMES, RawZone
from rawgwh.warehouse.star_zone import StarZone

KEY = "test-key-1234"
GAMES = 400


@pytest.fixture
def sim() -> Simulator:
    return Simulator.synthetic(n_games=GAMES, seed=11)


@pytest.fixture
def served(sim: Simulator) -> Iterator[str]:
    with sim.serve(port=0, api_key=KEY) as url:
        yield url


@pytest.fixture
def catalog_url(postgres_url: str) -> str:
    return new_database(postgres_url)


def s3_catalog(info: StackInfo, url: str) -> dict[str, str]:
    return {
        "uri": url,
        "s3.endpoint": info.s3_endpoint,
        "s3.access-key-id": info.access_key,
        "s3.secret-access-key": info.secret_key,
        "s3.region": "us-east-1",
        "s3.path-style-access": "true",
    }


def s3_settings(info: StackInfo, catalog_url: str, served: str, **extra: object) -> Settings:
    warehouse = f"s3://{info.bucket}/pg-{uuid.uuid4().hex[:12]}"
    local = make_settings(Path("unused"), served, **extra)
    return local.with_(warehouse=warehouse, catalog=s3_catalog(info, catalog_url))


def game_count(settings: Settings) -> int:
    with open_warehouse_engine(settings) as engine:
        return int(engine.query("SELECT count(*) FROM fact_games").column(0)[0].as_py())


def catalog_tables(url: str) -> set[str]:
    """The Iceberg tables the PostgreSQL catalog lists (read straight from the server)."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                sqlalchemy.text("SELECT table_namespace, table_name FROM iceberg_tables")
            )
            return {f"{ns}.{name}" for ns, name in rows}
    finally:
        engine.dispose()


def assert_no_duplicates(settings: Settings) -> None:
    raw = raw_games(settings)
    assert raw.height == raw.select("id", "updated").unique().height


def expected_ids(sim: Simulator) -> list[int]:
    return sorted(int(r["id"]) for r in sim.records())


def test_sync_into_a_local_folder_with_the_postgres_catalog(
    sim: Simulator,
    served: str,
    catalog_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "wh"
    settings = make_settings(folder, served, catalog={"uri": catalog_url}, batch_games=100)
    first = sync(settings)
    assert first.mode == "backfill" and first.games_added == len(sim)
    assert first.published is not None
    # The catalog is on the server, the files in the folder: no SQLite catalog beside them.
    assert {"raw.games", "star.fact_games"} <= catalog_tables(catalog_url)
    assert not (folder / "catalog.db").exists()
    assert list(folder.rglob("*.parquet"))
    assert game_count(settings) == len(sim)
    assert latest(raw_games(settings)).get_column("id").to_list() == expected_ids(sim)

    sim.stats.reset()
    second = sync(settings)
    assert second.mode == "incremental"
    assert second.games_added == 0 and second.published is None
    assert sim.stats.requests <= 3
    assert game_count(settings) == len(sim)

    code, out, err = run_cli(
        ["status", "--catalog-uri", catalog_url, "-w", str(folder), "--format", "json"], capsys
    )
    assert code == 0, err
    rows = {t["name"]: t["rows"] for t in json.loads(out)["tables"]}
    assert rows["star.fact_games"] == len(sim)
    assert rows["raw.games"] == len(sim)


def test_sync_with_files_on_s3_and_the_postgres_catalog(
    sim: Simulator, served: str, catalog_url: str, stack: StackInfo
) -> None:
    settings = s3_settings(stack, catalog_url, served, batch_games=200)
    first = sync(settings)
    assert first.mode == "backfill" and first.games_added == len(sim)
    assert game_count(settings) == len(sim)

    fs = s3fs.S3FileSystem(skip_instance_cache=True, **stack.s3_options())
    prefix = settings.warehouse.removeprefix("s3://")
    files = fs.find(prefix)
    assert any(f.startswith(f"{prefix}/raw/games") and f.endswith(".parquet") for f in files)
    assert any(f.startswith(f"{prefix}/star/fact_games") and f.endswith(".parquet") for f in files)
    assert any(f.endswith(".metadata.json") for f in files)

    sim.stats.reset()
    second = sync(settings)
    assert second.mode == "incremental" and second.games_added == 0
    assert sim.stats.requests <= 3
    assert game_count(settings) == len(sim)


def test_second_writer_on_s3_loses_the_raw_commit_with_a_clear_error(
    sim: Simulator, served: str, catalog_url: str, stack: StackInfo
) -> None:
    """Writer A commits its first batch, then writer B runs a whole sync (resuming A's run)
    while A waits; A's next commit is from a stale table and must be turned away."""
    settings = s3_settings(stack, catalog_url, served, batch_games=100, concurrency=1)
    other: list[BaseException | None] = []

    def run_other_writer(progress: SyncProgress) -> None:
        if other:
            return
        other.append(None)

        def run() -> None:
            try:
                sync(settings)
            except BaseException as e:  # reported by the assertion below
                other[0] = e

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=120)
        assert not thread.is_alive()

    with pytest.raises(WarehouseBusy) as info:
        sync(settings, on_commit=run_other_writer)
    assert other == [None]  # the other writer finished cleanly
    message = str(info.value)
    assert "\n" not in message
    assert "another rawgwh sync" in message and "run again" in message
    assert settings.warehouse in message

    # Consistent: B's complete sync is what is there, once per version, and published.
    assert_no_duplicates(settings)
    assert latest(raw_games(settings)).get_column("id").to_list() == expected_ids(sim)
    assert all(check.passed for check in check_published(Warehouse.open(settings)))
    assert game_count(settings) == len(sim)
    again = sync(settings)  # and the loser's "run again" works
    assert again.mode == "incremental" and again.games_added == 0


def test_second_writer_on_s3_loses_the_star_publish_with_a_clear_error(
    sim: Simulator, served: str, catalog_url: str, stack: StackInfo
) -> None:
    """Both writers read the star; B publishes while A checks its candidate; A's commit is
    turned away and the star stays B's, complete and consistent."""
    settings = s3_settings(stack, catalog_url, served, batch_games=200)
    sync(settings, publish=False)

    def publish_by_the_other_writer(tables: Mapping[str, pa.Table], expected: int | None) -> None:
        validate_star(tables, expected)
        publish_star(Warehouse.open(settings, create=True), sync_id="writer-b")

    writer_a = Warehouse.open(settings, create=True)
    with pytest.raises(WarehouseBusy) as info:
        publish_star(writer_a, sync_id="writer-a", validator=publish_by_the_other_writer)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("another rawgwh sync committed to star.") and "run again" in message

    reader = Warehouse.open(settings)
    marker = StarZone(reader, create=False).marker()
    assert marker is not None and marker.sync_id == "writer-b"
    assert StarZone(reader, create=False).consistent()
    assert all(check.passed for check in check_published(reader))
    assert_no_duplicates(settings)
    assert game_count(settings) == len(sim)


def test_a_table_made_without_the_retry_setting_still_turns_a_stale_writer_away(
    served: str, catalog_url: str, tmp_path: Path
) -> None:
    """Tables from before rawgwh set ``commit.retry.num-retries=0`` get it on their next
    commit, and that first commit still notices a writer that read a stale table."""
    settings = make_settings(tmp_path / "wh", served, catalog={"uri": catalog_url})
    sync(settings, publish=False)
    games = Warehouse.open(settings).table(RAW_GAMES)
    assert games.properties[COMMIT_RETRIES] == "0"  # new tables have it
    with games.transaction() as tx:
        tx.remove_properties(COMMIT_RETRIES)
    before = raw_games(settings).height

    writer_a = RawZone(Warehouse.open(settings, create=True))
    writer_b = RawZone(Warehouse.open(settings, create=True))
    assert COMMIT_RETRIES not in writer_a.games.properties
    batch = writer_b.games.scan(limit=5).to_arrow()
    no_rejects = writer_b.rejects.scan(limit=0).to_arrow()
    writer_b.commit(batch, no_rejects, writer_b.state(), sync_id="writer-b")
    assert writer_b.games.properties[COMMIT_RETRIES] == "0"
    with pytest.raises(WarehouseBusy, match="another rawgwh sync committed to the raw zone"):
        writer_a.commit(batch, no_rejects, writer_a.state(), sync_id="writer-a")
    assert raw_games(settings).height == before + 5  # B's batch once, A's not at all


def test_status_with_a_wrong_postgres_uri_is_one_line_without_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:  # a port nobody listens on once the socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    password = "pg-Pass-4711-secret"
    uri = f"postgresql+psycopg2://rawgwh:{password}@127.0.0.1:{port}/rawgwh"
    code, out, err = run_cli(["status", "--catalog-uri", uri, "-w", str(tmp_path / "wh")], capsys)
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "rawgwh doctor" in err and f"127.0.0.1:{port}" in err
    assert password not in out + err
