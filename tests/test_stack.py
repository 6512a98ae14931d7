"""The local stack itself: real Nessie and moto servers, pyiceberg over Iceberg REST, branches."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
import s3fs
import stack as stack_module
from pyiceberg.catalog.rest import RestCatalog
from stack import StackInfo, branch_hash, create_branch, delete_branch

STACK_SCRIPT = Path(__file__).with_name("stack.py")


@pytest.fixture(scope="session")
def stack_dirs(stack: StackInfo) -> dict[str, str]:
    """Cache and state folders as the session saw them (tests run with RAWG* variables cleared)."""
    return {
        "RAWGWH_STACK_CACHE": str(stack_module.cache_dir()),
        "RAWGWH_STACK_STATE": str(stack_module.state_dir()),
    }


@pytest.fixture
def other_branch(stack: StackInfo) -> Iterator[str]:
    name = f"test/other-{uuid.uuid4().hex[:8]}"
    create_branch(stack, name)
    yield name
    delete_branch(stack, name)


def catalog(info: StackInfo, branch: str) -> RestCatalog:
    return RestCatalog("stack", **info.catalog_properties(branch))


def unique_namespace() -> str:
    """Branches fork from a shared main, so names are unique to keep tests independent."""
    return f"ns_{uuid.uuid4().hex[:8]}"


def games() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([3, 1, 2], pa.int64()),
            "name": pa.array(["Portal 2", "The Witcher 3", "Celeste"], pa.string()),
            "rating": pa.array([4.6, 4.7, None], pa.float64()),
        }
    )


def bucket_fs(info: StackInfo) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(skip_instance_cache=True, **info.s3_options())


def test_servers_answer(stack: StackInfo) -> None:
    nessie = httpx.get(f"{stack.nessie_url}/api/v2/config", timeout=10).json()
    assert nessie["defaultBranch"] == "main"
    assert nessie["maxSupportedApiVersion"] == 2
    iceberg = httpx.get(f"{stack.iceberg_uri}/v1/config", timeout=10).json()
    assert iceberg["defaults"]["warehouse"] == f"s3://{stack.bucket}/{stack.warehouse_name}"
    assert iceberg["defaults"]["prefix"] == "main"
    assert iceberg["overrides"]["s3.endpoint"] == stack.s3_endpoint
    assert stack.bucket in bucket_fs(stack).ls("")
    for url in (stack.nessie_url, stack.s3_endpoint):
        assert url.startswith("http://127.0.0.1:")


def test_arrow_round_trip_on_a_branch_lands_in_the_bucket(
    stack: StackInfo, nessie_branch: str
) -> None:
    ns = unique_namespace()
    cat = catalog(stack, nessie_branch)
    cat.create_namespace(ns)
    table = cat.create_table(f"{ns}.games", schema=games().schema)
    table.append(games())

    back = catalog(stack, nessie_branch).load_table(f"{ns}.games").scan().to_arrow()
    assert back.sort_by("id").to_pylist() == games().sort_by("id").to_pylist()

    fs = bucket_fs(stack)
    data_files = table.inspect.files().column("file_path").to_pylist()
    assert data_files, "the append wrote no data file"
    snapshot = table.current_snapshot()
    assert snapshot is not None
    for path in [*data_files, snapshot.manifest_list]:
        assert path.startswith(f"s3://{stack.bucket}/{stack.warehouse_name}/{ns}/games_")
        assert fs.size(path) > 0, path
    # Nessie serves table metadata itself: the metadata location is a Nessie URL, not S3.
    assert table.metadata_location.startswith(f"{stack.nessie_url}/catalog/v1/trees/")
    stored = [p for p in fs.find(table.location()) if p.endswith(".parquet")]
    assert sorted(f"s3://{p}" for p in stored) == sorted(data_files)


def test_a_commit_on_one_branch_is_invisible_on_another(
    stack: StackInfo, nessie_branch: str, other_branch: str
) -> None:
    mine, theirs = catalog(stack, nessie_branch), catalog(stack, other_branch)
    ns = unique_namespace()
    before = branch_hash(stack, other_branch)
    mine.create_namespace(ns)
    mine.create_table(f"{ns}.games", schema=games().schema).append(games())
    mine.update_namespace_properties(ns, updates={"rawgwh.note": "mine"})

    assert mine.table_exists(f"{ns}.games")
    assert not theirs.table_exists(f"{ns}.games")
    assert (ns,) not in theirs.list_namespaces()
    assert branch_hash(stack, other_branch) == before
    assert branch_hash(stack, nessie_branch) != before

    # The same names on the other branch get their own location, rows and properties.
    theirs.create_namespace(ns)
    other = theirs.create_table(f"{ns}.games", schema=games().schema)
    other.append(games().slice(0, 1))
    assert other.location() != mine.load_table(f"{ns}.games").location()
    assert mine.load_table(f"{ns}.games").scan().to_arrow().num_rows == 3
    assert theirs.load_table(f"{ns}.games").scan().to_arrow().num_rows == 1
    assert mine.load_namespace_properties(ns)["rawgwh.note"] == "mine"
    assert "rawgwh.note" not in theirs.load_namespace_properties(ns)


def test_branch_helpers(stack: StackInfo) -> None:
    name = f"test/helpers/{uuid.uuid4().hex[:8]}"
    assert branch_hash(stack, name) is None
    created = create_branch(stack, name)
    assert created == branch_hash(stack, "main")
    delete_branch(stack, name)
    assert branch_hash(stack, name) is None
    delete_branch(stack, name)  # deleting a missing branch is not an error
    with pytest.raises(stack_module.StackError, match="no such branch"):
        create_branch(stack, name, from_ref=f"missing-{uuid.uuid4().hex[:6]}")


def run_script(env_dirs: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_dirs}
    return subprocess.run(
        [sys.executable, str(STACK_SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_script_reuses_the_running_stack_and_prints_env(
    stack: StackInfo, stack_dirs: dict[str, str]
) -> None:
    started = run_script(stack_dirs, "start")
    assert started.returncode == 0, started.stderr
    assert "already running" in started.stdout
    assert stack.nessie_url in started.stdout

    env = run_script(stack_dirs, "env")
    assert env.returncode == 0, env.stderr
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in env.stdout.strip().splitlines()
    )
    assert exports["AWS_ACCESS_KEY_ID"] == stack.access_key
    assert exports["AWS_SECRET_ACCESS_KEY"] == stack.secret_key
    assert exports["AWS_REGION"] == stack.region
    assert exports["RAWGWH_STACK_ICEBERG_URI"] == stack.iceberg_uri
    assert exports["RAWGWH_STACK_S3_ENDPOINT"] == stack.s3_endpoint

    status = run_script(stack_dirs, "status")
    assert status.returncode == 0, status.stdout
    assert status.stdout.count("healthy") == 2


def test_script_rejects_an_unknown_command() -> None:
    done = run_script({}, "launch")
    assert done.returncode == 2
    assert "usage: python tests/stack.py start|stop|status|env" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("banner", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "25.0.3" 2026-04-21 LTS', 25),
        ('java version "1.8.0_402"', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ("no java here", None),
    ],
)
def test_java_version_parsing(banner: str, major: int | None) -> None:
    assert stack_module._java_major(banner) == major
