"""The ten queries through Dremio's REST SQL API, when a Dremio is configured.

Environment: ``DREMIO_URL`` (e.g. ``http://127.0.0.1:9047``), credentials -- a personal
access token in ``DREMIO_TOKEN``, or ``DREMIO_USER`` and ``DREMIO_PASSWORD`` -- and
``DREMIO_SOURCE``, the Nessie source holding the star tables (queried as
``<source>.star.<table>``). Without ``DREMIO_URL`` the query comparison reports Dremio as
not run; nothing here makes up a figure.

The REST flow: ``POST /apiv2/login`` (user name and password -> a token sent as
``Authorization: _dremio<token>``; a personal access token goes as ``Bearer``), ``POST
/api/v3/sql`` -> a job id, ``GET /api/v3/job/{id}`` until the job is ``COMPLETED``,
``FAILED`` or ``CANCELED``, then ``GET /api/v3/job/{id}/results?offset=&limit=`` page by
page (at most 500 rows a page) up to the job's ``rowCount``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from rawgwh.model.schema import STAR_SCHEMAS
from rawgwh.secrets import Secret

__all__ = [
    "DremioClient",
    "DremioConfig",
    "DremioError",
    "DremioHarness",
    "DremioResult",
    "from_env",
    "qualify",
    "to_python",
]

PAGE_LIMIT = 500  # the most rows Dremio returns per results page
DONE_STATES = frozenset({"COMPLETED", "FAILED", "CANCELED"})


class DremioError(Exception):
    """Dremio refused a request or a job did not complete; the message says what to do."""


@dataclass(frozen=True)
class DremioConfig:
    url: str
    source: str
    user: str | None = None
    password: Secret | None = None
    token: Secret | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DremioConfig | None:
        """The configuration in ``env`` (default: the process environment); None without
        ``DREMIO_URL``; :class:`DremioError` when it is set but incomplete."""
        env = os.environ if env is None else env
        url = env.get("DREMIO_URL", "").strip()
        if not url:
            return None
        source = env.get("DREMIO_SOURCE", "").strip()
        if not source:
            raise DremioError("DREMIO_URL is set but DREMIO_SOURCE is not: name the Nessie source")
        token = env.get("DREMIO_TOKEN", "")
        user, password = env.get("DREMIO_USER", ""), env.get("DREMIO_PASSWORD", "")
        if not token and not (user and password):
            raise DremioError(
                "DREMIO_URL is set but no credentials: set DREMIO_TOKEN, or DREMIO_USER and "
                "DREMIO_PASSWORD"
            )
        return cls(
            url=url.rstrip("/"),
            source=source,
            user=user or None,
            password=Secret(password) if password else None,
            token=Secret(token) if token else None,
        )


_TABLE_REFERENCE = re.compile(
    r"\b(FROM|JOIN)(\s+)(" + "|".join(sorted(STAR_SCHEMAS, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualify(sql: str, source: str) -> str:
    """``sql`` with each star table after FROM or JOIN as ``"<source>".star.<table>``.

    Only the ten star table names are rewritten, only where a table is expected: CTE names,
    columns and aliases stay as they are.
    """
    prefix = f"{_quote(source)}.star."
    return _TABLE_REFERENCE.sub(lambda m: f"{m[1]}{m[2]}{prefix}{m[3].lower()}", sql)


def to_python(value: Any, type_name: str) -> Any:
    """A value of Dremio's JSON results as Python, by the column's Dremio type."""
    if value is None:
        return None
    kind = type_name.upper()
    if kind in ("BIGINT", "INTEGER", "INT", "SMALLINT", "TINYINT"):
        return int(value)
    if kind in ("DOUBLE", "FLOAT", "REAL"):
        return float(value)
    if kind == "DECIMAL":
        return decimal.Decimal(str(value))
    if kind == "BOOLEAN":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "DATE":
        return dt.date.fromisoformat(str(value)[:10])
    if kind == "TIMESTAMP":
        return dt.datetime.fromisoformat(str(value).replace(" ", "T"))
    if kind == "TIME":
        return dt.time.fromisoformat(str(value))
    return value  # VARCHAR and anything else: as Dremio sent it


@dataclass
class DremioResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    seconds: float  # submit to last page fetched, on this side
    job: dict[str, Any] = field(default_factory=dict)


class DremioClient:
    """A small client for Dremio's REST SQL API (see the module docstring)."""

    def __init__(
        self,
        config: DremioConfig,
        *,
        poll_interval: float = 0.05,
        timeout: float = 600.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.poll_interval = poll_interval
        self.timeout = timeout
        self._http = httpx.Client(base_url=config.url, timeout=60.0, transport=transport)
        self._auth: str | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DremioClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _authorization(self) -> str:
        if self._auth is None:
            if self.config.token:
                self._auth = f"Bearer {self.config.token.reveal()}"
            else:
                assert self.config.password is not None
                body = {"userName": self.config.user, "password": self.config.password.reveal()}
                response = self._send("POST", "/apiv2/login", json=body, auth=False)
                token = response.get("token")
                if not token:
                    raise DremioError("Dremio's login answered without a token")
                self._auth = f"_dremio{token}"
        return self._auth

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        auth: bool = True,
    ) -> dict[str, Any]:
        headers = {"Authorization": self._authorization()} if auth else {}
        try:
            response = self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.TransportError as e:
            raise DremioError(
                f"cannot reach Dremio at {self.config.url}: {type(e).__name__}; "
                "is DREMIO_URL right?"
            ) from None
        if response.status_code in (401, 403):
            raise DremioError(
                f"Dremio refused the credentials ({response.status_code} on {path}): check "
                "DREMIO_TOKEN, or DREMIO_USER and DREMIO_PASSWORD"
            )
        if response.status_code >= 400:
            raise DremioError(
                f"Dremio answered {response.status_code} on {method} {path}: "
                f"{_error_text(response)}"
            )
        try:
            data = response.json()
        except ValueError:
            raise DremioError(f"Dremio answered {path} with something other than JSON") from None
        if not isinstance(data, dict):
            raise DremioError(f"Dremio answered {path} with unexpected JSON")
        return data

    def submit(self, sql: str, context: Sequence[str] = ()) -> str:
        """Start a job running ``sql``; its id."""
        body: dict[str, Any] = {"sql": sql}
        if context:
            body["context"] = list(context)
        job_id = self._send("POST", "/api/v3/sql", json=body).get("id")
        if not job_id:
            raise DremioError("Dremio accepted the SQL but returned no job id")
        return str(job_id)

    def wait(self, job_id: str) -> dict[str, Any]:
        """Poll the job until it is done; its status if COMPLETED, else :class:`DremioError`."""
        deadline = time.monotonic() + self.timeout
        while True:
            job = self._send("GET", f"/api/v3/job/{job_id}")
            state = str(job.get("jobState", ""))
            if state == "COMPLETED":
                return job
            if state == "FAILED":
                reason = job.get("errorMessage") or "no error message"
                raise DremioError(f"Dremio job {job_id} failed: {reason}")
            if state == "CANCELED":
                reason = job.get("cancellationReason") or "no reason given"
                raise DremioError(f"Dremio job {job_id} was canceled: {reason}")
            if time.monotonic() > deadline:
                raise DremioError(f"Dremio job {job_id} still {state} after {self.timeout:g} s")
            time.sleep(self.poll_interval)

    def results(self, job_id: str, row_count: int) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Every result row of a completed job, page by page, typed by its schema."""
        columns: list[str] = []
        types: list[str] = []
        rows: list[tuple[Any, ...]] = []
        offset = 0
        while True:
            page = self._send(
                "GET",
                f"/api/v3/job/{job_id}/results",
                params={"offset": offset, "limit": PAGE_LIMIT},
            )
            if not columns:
                schema = page.get("schema") or []
                columns = [str(c["name"]) for c in schema]
                types = [str(c.get("type", {}).get("name", "VARCHAR")) for c in schema]
            batch = page.get("rows") or []
            rows.extend(
                tuple(to_python(r.get(c), t) for c, t in zip(columns, types, strict=True))
                for r in batch
            )
            offset += len(batch)
            if offset >= row_count or not batch:
                break
        if len(rows) != row_count:
            raise DremioError(f"Dremio job {job_id} reported {row_count} rows, sent {len(rows)}")
        return columns, rows

    def query(self, sql: str) -> DremioResult:
        """Run ``sql`` to completion and fetch every row."""
        self._authorization()  # log in outside the timed part
        start = time.perf_counter()
        job_id = self.submit(sql)
        job = self.wait(job_id)
        columns, rows = self.results(job_id, int(job.get("rowCount", 0)))
        return DremioResult(columns, rows, time.perf_counter() - start, job)


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text.strip().splitlines()[0][:200] if response.text.strip() else "-"
    if isinstance(data, dict):
        return str(data.get("errorMessage") or data.get("message") or data)[:200]
    return str(data)[:200]


class DremioHarness:
    """The benchmark's view of Dremio: the ten queries' answers, then their timings."""

    system = "dremio"

    def __init__(self, client: DremioClient) -> None:
        self.client = client

    def _sql(self, sql: str) -> str:
        return qualify(sql, self.client.config.source)

    def answers(self, queries: Mapping[str, str]) -> dict[str, dict[str, Any]]:
        from benchmarks.compare.duckdb_iceberg_child import plain

        out = {}
        for name, sql in queries.items():
            result = self.client.query(self._sql(sql))
            out[name] = {"columns": result.columns, "rows": [plain(list(r)) for r in result.rows]}
        return out

    def timings(self, queries: Mapping[str, str], repeat: int) -> dict[str, list[float]]:
        """Each query once to warm up, then ``repeat`` times: seconds per run."""
        out = {}
        for name, sql in queries.items():
            qualified = self._sql(sql)
            self.client.query(qualified)
            out[name] = [self.client.query(qualified).seconds for _ in range(repeat)]
        return out


def from_env(env: Mapping[str, str] | None = None) -> DremioHarness | None:
    """A harness for the Dremio in the environment, or None when ``DREMIO_URL`` is unset."""
    config = DremioConfig.from_env(env)
    return None if config is None else DremioHarness(DremioClient(config))
