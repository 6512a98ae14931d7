"""The Dremio harness against a fake Dremio on loopback: what it sends, what it parses."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from benchmarks.compare.dremio import (
    PAGE_LIMIT,
    DremioClient,
    DremioConfig,
    DremioError,
    DremioHarness,
    from_env,
    qualify,
    to_python,
)
from benchmarks.compare.query_engines import load_queries
from rawgwh.secrets import Secret

TOKEN = "tok-123"
PAT = "pat-secret-456"
SCHEMA = [
    {"name": "store", "type": {"name": "VARCHAR"}},
    {"name": "games", "type": {"name": "BIGINT"}},
    {"name": "share", "type": {"name": "DECIMAL"}},
    {"name": "avg_rating", "type": {"name": "DOUBLE"}},
    {"name": "first_release", "type": {"name": "DATE"}},
    {"name": "seen", "type": {"name": "TIMESTAMP"}},
    {"name": "weekend", "type": {"name": "BOOLEAN"}},
]


def _row(i: int) -> dict[str, Any]:
    return {
        "store": f"store {i}",
        "games": i,
        "share": "12.50",
        "avg_rating": 3 if i % 2 else 3.25,  # JSON may drop a double's fraction
        "first_release": "2015-06-01",
        "seen": "2025-01-02 03:04:05.000",
        "weekend": i % 2 == 0,
    }


@dataclass
class FakeDremio:
    """Canned answers; records every request it gets."""

    rows: int = 1_234
    job_states: list[str] = field(default_factory=lambda: ["RUNNING", "COMPLETED"])
    error_message: str = ""
    refuse: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    polls: int = 0


def _handler(fake: FakeDremio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = {
                "method": self.command,
                "path": parts.path,
                "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                "auth": self.headers.get("Authorization"),
                "body": json.loads(raw) if raw else None,
            }
            fake.requests.append(request)
            return request

        def do_POST(self) -> None:
            r = self._record()
            if r["path"] == "/apiv2/login":
                if r["body"] != {"userName": "ana", "password": "s3cret"}:
                    return self._reply(401, {"errorMessage": "Invalid user name or password"})
                return self._reply(200, {"token": TOKEN, "userName": "ana"})
            if r["path"] == "/api/v3/sql":
                if fake.refuse or r["auth"] not in (f"_dremio{TOKEN}", f"Bearer {PAT}"):
                    return self._reply(401, {"errorMessage": "Unauthorized"})
                return self._reply(200, {"id": "job-1"})
            self._reply(404, {"errorMessage": "no such endpoint"})

        def do_GET(self) -> None:
            r = self._record()
            if r["auth"] not in (f"_dremio{TOKEN}", f"Bearer {PAT}"):
                return self._reply(401, {"errorMessage": "Unauthorized"})
            if r["path"] == "/api/v3/job/job-1":
                state = fake.job_states[min(fake.polls, len(fake.job_states) - 1)]
                fake.polls += 1
                body: dict[str, Any] = {"jobState": state, "rowCount": fake.rows}
                if state == "FAILED":
                    body["errorMessage"] = fake.error_message
                return self._reply(200, body)
            if r["path"] == "/api/v3/job/job-1/results":
                offset, limit = int(r["query"]["offset"]), int(r["query"]["limit"])
                if limit > PAGE_LIMIT:
                    return self._reply(400, {"errorMessage": "limit over 500"})
                rows = [_row(i) for i in range(offset, min(offset + limit, fake.rows))]
                return self._reply(200, {"rowCount": fake.rows, "schema": SCHEMA, "rows": rows})
            self._reply(404, {"errorMessage": "no such endpoint"})

    return Handler


@pytest.fixture
def fake() -> Iterator[tuple[FakeDremio, str]]:
    state = FakeDremio()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _client(url: str, **config: Any) -> DremioClient:
    values: dict[str, Any] = {"url": url, "source": "nessie", "user": "ana"}
    values["password"] = Secret(config.pop("password", "s3cret"))
    values.update(config)
    return DremioClient(DremioConfig(**values), poll_interval=0.001, timeout=5)


def test_login_submit_poll_and_page_through_the_results(fake: tuple[FakeDremio, str]) -> None:
    state, url = fake
    with _client(url) as client:
        result = client.query("SELECT 1")
    assert result.columns == [c["name"] for c in SCHEMA]
    assert len(result.rows) == 1_234
    assert result.rows[1] == (
        "store 1",
        1,
        decimal.Decimal("12.50"),
        3.0,
        dt.date(2015, 6, 1),
        dt.datetime(2025, 1, 2, 3, 4, 5),
        False,
    )
    assert isinstance(result.rows[1][3], float) and result.rows[1233][1] == 1233
    login, submit, *rest = state.requests
    assert (login["method"], login["path"]) == ("POST", "/apiv2/login")
    assert login["body"] == {"userName": "ana", "password": "s3cret"} and login["auth"] is None
    assert (submit["method"], submit["path"], submit["body"]) == (
        "POST",
        "/api/v3/sql",
        {"sql": "SELECT 1"},
    )
    assert submit["auth"] == f"_dremio{TOKEN}"
    polls = [r for r in rest if r["path"] == "/api/v3/job/job-1"]
    pages = [r["query"] for r in rest if r["path"].endswith("/results")]
    assert len(polls) == 2  # RUNNING, then COMPLETED
    assert pages == [{"offset": str(o), "limit": "500"} for o in (0, 500, 1000)]
    assert all(r["auth"] == f"_dremio{TOKEN}" for r in rest)


def test_a_personal_access_token_skips_the_login(fake: tuple[FakeDremio, str]) -> None:
    state, url = fake
    state.rows = 0
    with _client(url, user=None, password="", token=Secret(PAT)) as client:
        result = client.query("SELECT 1 WHERE false")
    assert result.rows == [] and result.columns == [c["name"] for c in SCHEMA]
    assert [r["path"] for r in state.requests][0] == "/api/v3/sql"
    assert all(r["auth"] == f"Bearer {PAT}" for r in state.requests)


def test_a_failed_job_raises_its_error_message(fake: tuple[FakeDremio, str]) -> None:
    state, url = fake
    state.job_states = ["PLANNING", "FAILED"]
    state.error_message = "Table 'nessie.star.fact_games' not found"
    with _client(url) as client, pytest.raises(DremioError) as info:
        client.query("SELECT * FROM nessie.star.fact_games")
    assert str(info.value) == ("Dremio job job-1 failed: Table 'nessie.star.fact_games' not found")


def test_a_canceled_job_raises(fake: tuple[FakeDremio, str]) -> None:
    state, url = fake
    state.job_states = ["CANCELED"]
    with _client(url) as client, pytest.raises(DremioError, match="job-1 was canceled"):
        client.query("SELECT 1")


def test_wrong_credentials_give_one_clear_line(fake: tuple[FakeDremio, str]) -> None:
    _, url = fake
    with _client(url, password="wrong") as client, pytest.raises(DremioError) as info:
        client.query("SELECT 1")
    message = str(info.value)
    assert message.startswith("Dremio refused the credentials (401 on /apiv2/login)")
    assert "DREMIO_USER and DREMIO_PASSWORD" in message
    assert "wrong" not in message and "\n" not in message


def test_a_rejected_token_gives_one_clear_line(fake: tuple[FakeDremio, str]) -> None:
    state, url = fake
    state.refuse = True
    with _client(url, token=Secret(PAT)) as client, pytest.raises(DremioError) as info:
        client.query("SELECT 1")
    assert "401 on /api/v3/sql" in str(info.value) and PAT not in str(info.value)


def test_an_unreachable_dremio_is_named() -> None:
    with _client("http://127.0.0.1:9") as client, pytest.raises(DremioError) as info:
        client.query("SELECT 1")
    assert str(info.value).startswith("cannot reach Dremio at http://127.0.0.1:9:")


def test_qualify_rewrites_only_star_table_references() -> None:
    sql = (
        "WITH tag_games AS (SELECT b.game_id FROM bridge_game_tag AS b) "
        "SELECT g.game_id, fact_games_x FROM fact_games AS g "
        "JOIN dim_tag ON dim_tag.tag_key = 1 join tag_games t ON t.game_id = g.game_id "
        "LEFT JOIN\n  fact_game_ratings r ON true"
    )
    assert qualify(sql, "nes sie") == (
        'WITH tag_games AS (SELECT b.game_id FROM "nes sie".star.bridge_game_tag AS b) '
        'SELECT g.game_id, fact_games_x FROM "nes sie".star.fact_games AS g '
        'JOIN "nes sie".star.dim_tag ON dim_tag.tag_key = 1 join tag_games t ON '
        "t.game_id = g.game_id "
        'LEFT JOIN\n  "nes sie".star.fact_game_ratings r ON true'
    )


def test_every_benchmark_query_reads_only_qualified_star_tables() -> None:
    from rawgwh.model.schema import STAR_SCHEMAS

    for name, sql in load_queries().items():
        rewritten = qualify(sql, "nessie")
        for table in STAR_SCHEMAS:
            if f" {table}" in sql.split("--")[0] or f"FROM {table}" in sql:
                assert f'"nessie".star.{table}' in rewritten, (name, table)
        assert "FROM fact_games" not in rewritten and "JOIN dim_" not in rewritten


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"DREMIO_URL": "http://x"}, "DREMIO_SOURCE is not"),
        ({"DREMIO_URL": "http://x", "DREMIO_SOURCE": "n"}, "no credentials"),
        ({"DREMIO_URL": "http://x", "DREMIO_SOURCE": "n", "DREMIO_USER": "a"}, "no credentials"),
    ],
)
def test_incomplete_configuration_says_what_to_set(env: dict[str, str], error: str) -> None:
    with pytest.raises(DremioError, match=error):
        DremioConfig.from_env(env)


def test_configuration_from_the_environment() -> None:
    assert from_env({}) is None
    harness = from_env(
        {"DREMIO_URL": "http://h:9047/", "DREMIO_SOURCE": "nessie", "DREMIO_TOKEN": PAT}
    )
    assert isinstance(harness, DremioHarness)
    config = harness.client.config
    assert (config.url, config.source, config.token) == ("http://h:9047", "nessie", Secret(PAT))
    assert PAT not in repr(config)
    harness.client.close()


def test_the_harness_warms_up_then_times_each_query(fake: tuple[FakeDremio, str]) -> None:
    state, url = fake
    state.rows = 3
    state.job_states = ["COMPLETED"]
    harness = DremioHarness(_client(url))
    queries = {"q": "SELECT count(*) FROM fact_games"}
    answers = harness.answers(queries)
    assert answers["q"]["rows"][0] == [
        "store 0",
        0,
        12.5,
        3.25,
        "2015-06-01",
        "2025-01-02T03:04:05",
        True,
    ]
    state.requests.clear()
    timings = harness.timings(queries, 3)
    assert len(timings["q"]) == 3 and all(t > 0 for t in timings["q"])
    sent = [r["body"]["sql"] for r in state.requests if r["path"] == "/api/v3/sql"]
    assert sent == ['SELECT count(*) FROM "nessie".star.fact_games'] * 4  # warm-up + 3
    harness.client.close()


def test_to_python_maps_dremio_types() -> None:
    assert to_python(None, "BIGINT") is None
    assert to_python("7", "INTEGER") == 7
    assert to_python(2, "DOUBLE") == 2.0 and isinstance(to_python(2, "DOUBLE"), float)
    assert to_python("true", "BOOLEAN") is True
    assert to_python("12:30:00", "TIME") == dt.time(12, 30)
    assert to_python("x", "VARCHAR") == "x"
