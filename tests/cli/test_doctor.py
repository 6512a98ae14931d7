"""``rawgwh doctor`` against real servers on loopback: the RAWG simulator, moto's S3 server
(with and without IAM auth), Nessie, plain HTTP servers that are not catalogs, closed ports.

Each failure doctor reports has a test that checks its fix hint; secrets never reach output.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from helpers import make_settings, run_cli
from stack import StackInfo

from rawgwh.doctor import (
    BRANCH_HINT,
    CATALOG_HINT,
    DREMIO_HINT,
    NOT_A_CATALOG_HINT,
    RAWG_BASE_URL_HINT,
    RAWG_KEY_HINT,
    RAWG_URL_HINT,
    S3_CREDENTIALS_HINT,
    S3_ENDPOINT_HINT,
)
from rawgwh.source.simulator import Simulator
from rawgwh.warehouse.catalog import Warehouse

KEY = "doctor-rawg-key-7319"
BUCKET = "doctor-bucket"
S3_KEY, S3_SECRET = "doctor-access-key", "doctor-s3-secret-5521"


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    # One table row per line, so the tests can read the cells back.
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.delenv("DREMIO_URL", raising=False)
    monkeypatch.delenv("DREMIO_USER", raising=False)
    monkeypatch.delenv("DREMIO_PASSWORD", raising=False)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator.synthetic(n_games=60, seed=11)
    with sim.serve(api_key=KEY) as url:
        yield sim, url


@pytest.fixture
def rawg(served: tuple[Simulator, str]) -> tuple[Simulator, str]:
    served[0].stats.reset()
    return served


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _moto(env: dict[str, str]) -> Iterator[str]:
    port = closed_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{endpoint}/moto-api/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "moto did not start"
            time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(10)


def _client(service: str, endpoint: str, key: str, secret: str) -> Any:
    from botocore.session import Session

    return Session().create_client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    """moto's S3 server as it runs by default: any credentials are accepted."""
    with _moto({}) as endpoint:
        _client("s3", endpoint, S3_KEY, S3_SECRET).create_bucket(Bucket=BUCKET)
        yield endpoint


@pytest.fixture(scope="module")
def moto_auth() -> Iterator[tuple[str, str, str]]:
    """moto with IAM auth enforced after four set-up actions: a user, its policy, its key and
    the bucket. Yields the endpoint and the user's real access key id and secret."""
    with _moto({"INITIAL_NO_AUTH_ACTION_COUNT": "4"}) as endpoint:
        iam = _client("iam", endpoint, "setup", "setup")
        iam.create_user(UserName="doctor")
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
        iam.put_user_policy(UserName="doctor", PolicyName="all", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="doctor")["AccessKey"]
        _client("s3", endpoint, "setup", "setup").create_bucket(Bucket=BUCKET)
        yield endpoint, key["AccessKeyId"], key["SecretAccessKey"]


def doctor(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, list[str]], str]:
    """Run ``rawgwh doctor ARGS``: exit code, rows by part ([target, status, detail, fix]),
    and all it printed."""
    code, out, err = run_cli(["doctor", *args], capsys)
    rows: dict[str, list[str]] = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 5 and cells[0] != "part":
            rows[cells[0]] = cells[1:]
    assert set(rows) == {"RAWG", "storage", "catalog", "Nessie branch", "Dremio"}, out + err
    return code, rows, out + err


def s3_env(monkeypatch: pytest.MonkeyPatch, endpoint: str, key: str, secret: str) -> None:
    """Credentials and endpoint the standard AWS way, as users set them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)


def s3_args(tmp_path: Path, bucket: str = BUCKET) -> list[str]:
    # An S3 warehouse needs a catalog outside it: a SQLite file here.
    return ["-w", f"s3://{bucket}/wh", "--catalog-uri", f"sqlite:///{tmp_path}/c.db", "--skip-rawg"]


# -- the embedded default --------------------------------------------------------------------


def test_embedded_default_all_ok(
    rawg: tuple[Simulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, url = rawg
    wh = tmp_path / "new" / "wh"
    code, rows, out = doctor(["-w", str(wh), "--base-url", url, "--api-key", KEY], capsys)
    assert code == 0, out
    assert rows["RAWG"][1:3] == ["OK", "reachable, key accepted (60 games)"]
    assert rows["storage"][:3] == [str(wh), "OK", "absent; the first sync creates it"]
    assert rows["catalog"][1] == "OK" and "pyiceberg" in rows["catalog"][2]
    assert rows["Nessie branch"][1] == rows["Dremio"][1] == "SKIP"
    assert sim.stats.requests == 1  # exactly one request, and it was the cheap one
    assert sim.stats.log[0].params["page_size"] == "1"
    assert KEY not in out
    assert not (tmp_path / "new").exists()  # doctor changes nothing


def test_existing_catalog_counted_and_foreign_one_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wh = tmp_path / "wh"
    warehouse = Warehouse.open(make_settings(wh, "http://127.0.0.1:1/api"), create=True)
    warehouse.table("raw.t", pa.schema([("id", pa.int64())]))
    code, rows, out = doctor(["-w", str(wh), "--skip-rawg"], capsys)
    assert code == 0, out
    assert rows["catalog"][1] == "OK"
    assert rows["catalog"][2].startswith("SQLite catalog, 1 tables")

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "catalog.db").write_bytes(b"not sqlite at all" * 100)
    code, rows, out = doctor(["-w", str(foreign), "--skip-rawg"], capsys)
    assert code == 1
    assert rows["catalog"][1] == "FAIL" and rows["catalog"][3] == NOT_A_CATALOG_HINT


def test_moved_warehouse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    warehouse = Warehouse.open(make_settings(old, "http://127.0.0.1:1/api"), create=True)
    warehouse.table("raw.t", pa.schema([("id", pa.int64())]))
    old.rename(new)
    code, rows, _ = doctor(["-w", str(new), "--skip-rawg"], capsys)
    assert code == 1
    assert rows["catalog"][1:] == [
        "FAIL",
        f"created at {old}, then moved or copied here",
        f"move it back to {old}, or sync into a new folder (Iceberg tables record absolute paths)",
    ]


def test_warehouse_path_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "file"
    path.write_text("x")
    code, rows, _ = doctor(["-w", str(path), "--skip-rawg"], capsys)
    assert code == 1
    assert rows["storage"][1:] == [
        "FAIL",
        "is a file, not a folder",
        "pass --warehouse with a folder",
    ]


# -- RAWG ------------------------------------------------------------------------------------


def test_rawg_down(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}/api"
    code, rows, out = doctor(["-w", str(tmp_path), "--base-url", url, "--api-key", KEY], capsys)
    assert code == 1
    assert rows["RAWG"][1:] == ["FAIL", "cannot connect (ConnectError)", RAWG_URL_HINT]
    assert rows["storage"][1] == rows["catalog"][1] == "OK"  # the other parts still checked
    assert KEY not in out


def test_rawg_key_rejected(
    rawg: tuple[Simulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, url = rawg
    wrong = "wrong-key-55555"
    code, rows, out = doctor(["-w", str(tmp_path), "--base-url", url, "--api-key", wrong], capsys)
    assert code == 1
    assert rows["RAWG"][1:] == ["FAIL", "HTTP 401", RAWG_KEY_HINT]
    assert sim.stats.requests == 1 and sim.stats.by_status == {401: 1}
    assert wrong not in out


def test_rawg_base_url_without_api(
    rawg: tuple[Simulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = rawg
    args = ["-w", str(tmp_path), "--base-url", url.removesuffix("/api"), "--api-key", KEY]
    code, rows, _ = doctor(args, capsys)
    assert code == 1
    assert rows["RAWG"][1:] == ["FAIL", "HTTP 404: no /games here", RAWG_BASE_URL_HINT]


def test_rawg_without_key_makes_no_request(
    rawg: tuple[Simulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, url = rawg
    code, rows, _ = doctor(["-w", str(tmp_path), "--base-url", url], capsys)
    assert code == 1
    assert rows["RAWG"][1:3] == ["FAIL", "no API key configured"]
    assert "RAWG_API_KEY" in rows["RAWG"][3]
    assert sim.stats.requests == 0


def test_skip_rawg(
    rawg: tuple[Simulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, url = rawg
    code, rows, _ = doctor(["-w", str(tmp_path), "--base-url", url, "--skip-rawg"], capsys)
    assert code == 0
    assert rows["RAWG"][1] == "SKIP" and sim.stats.requests == 0


# -- S3 --------------------------------------------------------------------------------------


def test_s3_ok_and_missing_bucket(
    moto_s3: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s3_env(monkeypatch, moto_s3, S3_KEY, S3_SECRET)
    code, rows, out = doctor(s3_args(tmp_path), capsys)
    assert code == 0, out
    assert rows["storage"][:2] == [f"s3://{BUCKET}/wh at {moto_s3}", "OK"]
    assert rows["catalog"][1] == "OK"  # absent SQLite file in a writable folder
    assert S3_SECRET not in out

    code, rows, out = doctor(s3_args(tmp_path, bucket="no-such-bucket"), capsys)
    assert code == 1
    assert rows["storage"][1:] == [
        "FAIL",
        "bucket no-such-bucket does not exist",
        "create it (aws s3 mb s3://no-such-bucket) or fix --warehouse",
    ]


def test_s3_server_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    s3_env(monkeypatch, endpoint, S3_KEY, S3_SECRET)
    code, rows, out = doctor(s3_args(tmp_path), capsys)
    assert code == 1
    assert rows["storage"][1] == "FAIL" and rows["storage"][3] == S3_ENDPOINT_HINT
    assert rows["storage"][2].startswith(f"cannot reach {endpoint}")
    assert S3_SECRET not in out


def test_s3_bad_credentials(
    moto_auth: tuple[str, str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint, key_id, secret = moto_auth
    s3_env(monkeypatch, endpoint, key_id, secret)
    code, rows, out = doctor(s3_args(tmp_path), capsys)
    assert code == 0, out  # the real key works: the server does check signatures
    assert secret not in out

    wrong = secret[:-4] + "XXXX"
    s3_env(monkeypatch, endpoint, key_id, wrong)
    code, rows, out = doctor(s3_args(tmp_path), capsys)
    assert code == 1
    assert rows["storage"][1:] == [
        "FAIL",
        "credentials rejected (SignatureDoesNotMatch)",
        S3_CREDENTIALS_HINT,
    ]
    assert wrong not in out

    s3_env(monkeypatch, endpoint, "AKIAUNKNOWNKEY000000", secret)
    code, rows, out = doctor(s3_args(tmp_path), capsys)
    assert code == 1
    assert rows["storage"][1:] == [
        "FAIL",
        "credentials rejected (InvalidAccessKeyId)",
        S3_CREDENTIALS_HINT,
    ]
    assert secret not in out


# -- catalog ---------------------------------------------------------------------------------


def test_catalog_uri_closed_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri = f"http://127.0.0.1:{closed_port()}/iceberg"
    code, rows, _ = doctor(["-w", str(tmp_path), "--catalog-uri", uri, "--skip-rawg"], capsys)
    assert code == 1
    assert rows["catalog"] == [uri, "FAIL", "cannot connect (ConnectError)", CATALOG_HINT]
    assert rows["Nessie branch"][1:3] == ["SKIP", "skipped: the catalog did not answer"]

    code, rows, _ = doctor(["-w", str(tmp_path), "--catalog-uri", "localhost:19120"], capsys)
    assert code == 1
    assert rows["catalog"][2:] == ["a REST catalog URI must be an http(s) URL", CATALOG_HINT]


def test_passwords_in_urls_are_masked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    password = "hunter2secret"
    uri = f"http://bob:{password}@127.0.0.1:{closed_port()}/iceberg"
    code, rows, out = doctor(["-w", str(tmp_path), "--catalog-uri", uri, "--skip-rawg"], capsys)
    assert code == 1
    assert rows["catalog"][0] == uri.replace(password, "***")
    assert password not in out

    # RAWG takes only the key: a base URL with a password is refused, without showing it.
    url = f"http://bob:{password}@127.0.0.1:{closed_port()}/api"
    code, out, err = run_cli(["doctor", "-w", str(tmp_path), "--base-url", url], capsys)
    assert code == 1 and err.count("\n") == 1
    assert "bob:***@" in err and "--api-key" in err
    assert password not in out + err


def test_catalog_uri_not_a_catalog(
    rawg: tuple[Simulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = rawg  # a live HTTP server, but not an Iceberg REST catalog: /v1/config is a 404
    code, rows, _ = doctor(["-w", str(tmp_path), "--catalog-uri", url, "--skip-rawg"], capsys)
    assert code == 1
    assert rows["catalog"][1:] == [
        "FAIL",
        "/v1/config answered HTTP 404: not an Iceberg REST catalog",
        CATALOG_HINT,
    ]


# -- the Nessie + S3 stack -------------------------------------------------------------------


def stack_config(tmp_path: Path, stack: StackInfo) -> Path:
    """A config file with a ``stack`` profile, as the README tells users to write it."""
    props = "\n".join(f'"{k}" = "{v}"' for k, v in stack.catalog_properties().items())
    path = tmp_path / "rawgwh.toml"
    path.write_text(
        f'[rawgwh]\nwarehouse = "{tmp_path / "local"}"\n\n'
        f'[profiles.stack]\nwarehouse = "s3://{stack.bucket}/{stack.warehouse_name}"\n\n'
        f'[profiles.stack.catalog]\ntype = "rest"\n{props}\n'
    )
    return path


def test_stack_all_ok(
    stack: StackInfo, nessie_branch: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = stack_config(tmp_path, stack)
    args = ["--config", str(config), "--profile", "stack", "--skip-rawg"]
    code, rows, out = doctor(args, capsys)
    assert code == 0, out
    spec = httpx.get(f"{stack.nessie_url}/api/v2/config").json()["specVersion"]
    assert rows["catalog"][0] == stack.iceberg_uri
    assert f"Nessie (API spec {spec}), serving branch main" in rows["catalog"][2]
    assert rows["storage"][:2] == [
        f"s3://{stack.bucket}/{stack.warehouse_name} at {stack.s3_endpoint}",
        "OK",
    ]
    assert rows["Nessie branch"][:2] == ["main", "OK"]
    assert "(profile stack)" in out
    assert stack.secret_key not in out

    # A branch with a slash in its name, as syncs create them.
    code, rows, out = doctor([*args, "--branch", nessie_branch], capsys)
    assert code == 0, out
    assert rows["Nessie branch"][:2] == [f"{nessie_branch}, main", "OK"]


def test_missing_nessie_branch(
    stack: StackInfo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No S3 settings on rawgwh's side: the bucket comes from the catalog's own answer.
    args = ["-w", str(tmp_path), "--catalog-uri", stack.iceberg_uri, "--skip-rawg"]
    code, rows, _ = doctor([*args, "--branch", "no-such-branch"], capsys)
    assert code == 1
    assert rows["Nessie branch"][1:] == [
        "FAIL",
        "branch no-such-branch does not exist",
        BRANCH_HINT,
    ]
    assert rows["catalog"][1] == "OK"
    assert rows["storage"][0].startswith(f"s3://{stack.bucket}/")

    # Nessie's root is an HTTP server too, but its /v1/config is not Iceberg REST.
    code, rows, _ = doctor(
        ["-w", str(tmp_path), "--catalog-uri", stack.nessie_url, "--skip-rawg"], capsys
    )
    assert code == 1
    assert rows["catalog"][1] == "FAIL" and rows["catalog"][3] == CATALOG_HINT


# -- Dremio and configuration errors ---------------------------------------------------------


def test_dremio_down_when_configured(
    rawg: tuple[Simulator, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    password = "dremio-password-8080"
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("DREMIO_URL", url)
    monkeypatch.setenv("DREMIO_USER", "admin")
    monkeypatch.setenv("DREMIO_PASSWORD", password)
    code, rows, out = doctor(["-w", str(tmp_path), "--skip-rawg"], capsys)
    assert code == 1
    assert rows["Dremio"] == [
        f"{url} as admin",
        "FAIL",
        "cannot connect (ConnectError)",
        DREMIO_HINT,
    ]
    assert password not in out

    _, not_dremio = rawg  # answers HTTP, but has no /apiv2/server_status
    monkeypatch.setenv("DREMIO_URL", not_dremio)
    code, rows, _ = doctor(["-w", str(tmp_path), "--skip-rawg"], capsys)
    assert code == 1
    assert rows["Dremio"][1] == "FAIL" and "HTTP 404" in rows["Dremio"][2]


def test_config_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["doctor", "--profile", "nope", "-w", str(tmp_path)], capsys)
    assert code == 1 and out == ""
    assert err.startswith("Error: --profile nope") and err.count("\n") == 1
