"""``rawgwh doctor``: check each configured part and say how to fix what fails.

Read-only by design: one request to RAWG, one listing of the S3 prefix, a look at the
catalog and the Nessie branch, a ping to Dremio. Nothing is created or changed, so it is
safe against a production warehouse. Pure of printing: the CLI renders the checks.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from rawgwh.secrets import redact
from rawgwh.settings import DEFAULT_BASE_URL, Settings
from rawgwh.warehouse.origin import catalog_locations, created_at, moved_fix

__all__ = ["Check", "run_checks", "failed"]

# Doctor answers fast or says why: a hung server is a finding, not something to wait out.
_TIMEOUT = 10.0
_CONNECT_TIMEOUT = 5.0
RAWG_KEY_HINT = "key rejected: check RAWG_API_KEY / get one at https://rawg.io/apidocs"
RAWG_URL_HINT = f"check your network or --base-url / RAWG_BASE_URL (RAWG is {DEFAULT_BASE_URL})"
RAWG_BASE_URL_HINT = f"is the base URL right? it should end in /api, like {DEFAULT_BASE_URL}"
S3_CREDENTIALS_HINT = "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
S3_ENDPOINT_HINT = "start the S3 server, or fix s3.endpoint / AWS_ENDPOINT_URL_S3"
CATALOG_HINT = (
    "check catalog.uri / --catalog-uri (Nessie serves Iceberg REST at http://HOST:19120/iceberg)"
)
BRANCH_HINT = "create it (rawgwh sync --branch NAME creates it from main) or fix --branch"
DREMIO_HINT = "start Dremio (docker compose up -d dremio) or fix DREMIO_URL / dremio_url"
NOT_A_CATALOG_HINT = "pass --warehouse with a rawgwh warehouse folder, or move the file away"
_BAD_S3_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "InvalidClientTokenId",
}


@dataclass(frozen=True, slots=True)
class Check:
    """One checked part. ``ok`` is None when the check was skipped."""

    part: str
    target: str
    ok: bool | None
    required: bool
    detail: str
    hint: str = ""

    @property
    def status(self) -> str:
        return "SKIP" if self.ok is None else ("OK" if self.ok else "FAIL")


def failed(checks: list[Check]) -> list[Check]:
    """The required checks that failed: any of them means exit 1."""
    return [c for c in checks if c.required and c.ok is False]


class _Fail(Exception):
    """A finding: what is wrong and how to fix it."""

    def __init__(self, detail: str, hint: str) -> None:
        super().__init__(detail)
        self.detail, self.hint = detail, hint


def _attempt(part: str, target: str, body: Callable[[], str]) -> Check:
    try:
        return Check(part, target, True, True, body())
    except _Fail as f:
        return Check(part, target, False, True, f.detail, f.hint)


@dataclass(frozen=True, slots=True)
class _RestProbe:
    """What the REST catalog said, for the storage and branch checks."""

    config: dict[str, str]  # server defaults < client properties < server overrides
    nessie_api: str | None  # Nessie's API root (http://host:19120/api); None: not Nessie
    served_branch: str | None


def run_checks(settings: Settings, *, skip_rawg: bool = False) -> list[Check]:
    """Check RAWG, storage, catalog, Nessie branch and Dremio, in that order."""
    base = redact(settings.base_url)
    if skip_rawg:
        rawg = Check("RAWG", base, None, False, "skipped (--skip-rawg)")
    else:
        rawg = _attempt("RAWG", base, lambda: _rawg(settings))
    probes: list[_RestProbe] = []

    def catalog_body() -> str:
        detail, probe = _catalog(settings)
        probes.extend([probe] if probe else [])
        return detail

    catalog = _attempt("catalog", _catalog_target(settings), catalog_body)
    probe = probes[0] if probes else None
    return [rawg, _storage(settings, probe), catalog, _branch(settings, probe), _dremio(settings)]


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


# -- RAWG ----------------------------------------------------------------------------------


def _rawg(settings: Settings) -> str:
    if settings.api_key is None:
        raise _Fail(
            "no API key configured",
            "set RAWG_API_KEY or pass --api-key (get one at https://rawg.io/apidocs)",
        )
    timeout = min(settings.timeout, _TIMEOUT)
    try:
        # Exactly one request and no retries: doctor must not spend the user's quota.
        response = httpx.get(
            f"{settings.base_url.rstrip('/')}/games",
            params={"page_size": 1, "key": settings.api_key.reveal()},
            timeout=httpx.Timeout(timeout, connect=min(timeout, _CONNECT_TIMEOUT)),
        )
    except httpx.TimeoutException:
        raise _Fail(f"no answer within {timeout:g} s", RAWG_URL_HINT) from None
    except httpx.HTTPError as e:  # the exception may quote the URL and its key: name only
        raise _Fail(f"cannot connect ({type(e).__name__})", RAWG_URL_HINT) from None
    status = response.status_code
    if status in (401, 403):
        raise _Fail(f"HTTP {status}", RAWG_KEY_HINT)
    if status == 429:
        raise _Fail(
            "HTTP 429: quota or rate limit reached",
            "wait and run again, or check your plan at https://rawg.io/apidocs",
        )
    if status == 404:
        raise _Fail("HTTP 404: no /games here", RAWG_BASE_URL_HINT)
    body = _json(response)
    if status != 200 or not isinstance(body, dict) or "results" not in body:
        raise _Fail(f"HTTP {status}, not RAWG's JSON", f"RAWG may be down, or {RAWG_URL_HINT}")
    count = body.get("count")
    return "reachable, key accepted" + (f" ({count:,} games)" if isinstance(count, int) else "")


# -- storage -------------------------------------------------------------------------------


def _storage(settings: Settings, probe: _RestProbe | None) -> Check:
    if settings.on_s3:
        return _s3(settings.warehouse, settings.catalog)
    if probe is not None and probe.config.get("warehouse", "").startswith(("s3://", "s3a://")):
        # A REST catalog decides where the files go; its answer names the bucket.
        return _s3(probe.config["warehouse"], probe.config)
    path = settings.warehouse_path
    return _attempt("storage", str(path), lambda: _folder(path))


def _folder(path: Path) -> str:
    hint = "choose another --warehouse, or fix the folder's permissions"
    if path.exists():
        if not path.is_dir():
            raise _Fail("is a file, not a folder", "pass --warehouse with a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise _Fail("folder is not writable", hint)
        return "local folder, writable"
    parent = _existing_parent(path)
    if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise _Fail(f"cannot be created in {parent}", hint)
    return "absent; the first sync creates it"


def _existing_parent(path: Path) -> Path | None:
    return next((p for p in path.parents if p.exists()), None)


def _s3(location: str, props: Mapping[str, str]) -> Check:
    parts = urlsplit(location)
    bucket, prefix = parts.netloc, parts.path.lstrip("/")
    endpoint = props.get("s3.endpoint")
    target = f"s3://{bucket}/{prefix}" + (f" at {redact(endpoint)}" if endpoint else "")

    def body() -> str:
        try:
            client = _s3_client(endpoint, props)
            # One listing: proves the endpoint, the credentials and the bucket at once.
            client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
        except Exception as e:  # botocore raises many kinds; each maps to one finding
            raise _s3_failure(e, bucket, endpoint) from None
        return "endpoint reachable, credentials accepted, bucket exists"

    return _attempt("storage", target, body)


def _s3_client(endpoint: str | None, props: Mapping[str, str]) -> Any:
    from botocore.config import Config  # type: ignore[import-untyped]
    from botocore.session import Session  # type: ignore[import-untyped]

    style = {"true": "path", "false": "virtual"}.get(
        props.get("s3.path-style-access", "").lower(), "auto"
    )
    config = Config(
        connect_timeout=_CONNECT_TIMEOUT,
        read_timeout=_TIMEOUT,
        retries={"max_attempts": 1, "mode": "standard"},
        s3={"addressing_style": style},
    )
    # Unset credentials fall back to botocore's usual chain (profiles, instance roles).
    return Session().create_client(
        "s3",
        endpoint_url=endpoint or None,
        region_name=props.get("s3.region") or props.get("client.region") or "us-east-1",
        aws_access_key_id=props.get("s3.access-key-id") or None,
        aws_secret_access_key=props.get("s3.secret-access-key") or None,
        aws_session_token=props.get("s3.session-token") or None,
        config=config,
    )


def _s3_failure(e: Exception, bucket: str, endpoint: str | None) -> _Fail:
    from botocore import exceptions as bx  # type: ignore[import-untyped]

    if isinstance(e, bx.EndpointConnectionError | bx.ConnectTimeoutError | bx.ReadTimeoutError):
        where = redact(endpoint) if endpoint else "AWS S3"
        return _Fail(f"cannot reach {where} ({type(e).__name__})", S3_ENDPOINT_HINT)
    if isinstance(e, bx.NoCredentialsError | bx.PartialCredentialsError):
        return _Fail("no S3 credentials found", f"set them: {S3_CREDENTIALS_HINT}")
    if isinstance(e, bx.ParamValidationError):
        return _Fail(f"bucket name {bucket!r} is not valid", "fix --warehouse (s3://bucket/prefix)")
    if isinstance(e, bx.ClientError):
        code = str(e.response.get("Error", {}).get("Code", "?"))
        if code in _BAD_S3_CREDENTIALS:
            return _Fail(f"credentials rejected ({code})", S3_CREDENTIALS_HINT)
        if code == "NoSuchBucket":
            return _Fail(
                f"bucket {bucket} does not exist",
                f"create it (aws s3 mb s3://{bucket}) or fix --warehouse",
            )
        if code in ("AccessDenied", "AllAccessDisabled"):
            return _Fail(
                f"credentials accepted but not allowed to list s3://{bucket} ({code})",
                f"grant s3:ListBucket on the bucket, or {S3_CREDENTIALS_HINT}",
            )
        if code in ("PermanentRedirect", "AuthorizationHeaderMalformed"):
            return _Fail(f"bucket {bucket} is in another region ({code})", "set AWS_REGION")
        return _Fail(f"S3 answered {code}", f"{S3_ENDPOINT_HINT}; check --warehouse")
    if isinstance(e, bx.BotoCoreError):
        return _Fail(f"S3 request failed ({type(e).__name__})", S3_ENDPOINT_HINT)
    raise e


# -- catalog -------------------------------------------------------------------------------


def _library() -> str:
    return f"pyiceberg {version('pyiceberg')}"


def _catalog_target(settings: Settings) -> str:
    if settings.embedded:
        return str(settings.warehouse_path / "catalog.db")
    return redact(settings.catalog["uri"])  # masks a password in it, for every catalog type


def _catalog(settings: Settings) -> tuple[str, _RestProbe | None]:
    if settings.catalog_type == "rest":
        return _rest_catalog(settings)
    if settings.embedded:
        root = settings.warehouse_path
        return _sqlite_catalog(root / "catalog.db", root=root), None
    return _sql_catalog(settings.catalog["uri"]), None


def _sqlite_catalog(path: Path, *, root: Path | None = None) -> str:
    """``root``: the embedded warehouse folder the catalog's tables must live in."""
    if not path.exists():
        parent = _existing_parent(path)
        if parent is None or not os.access(parent, os.W_OK | os.X_OK):
            raise _Fail(f"absent, and cannot be created in {parent}", CATALOG_HINT)
        return f"absent; the first sync creates it ({_library()})"
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"  # read-only: doctor changes nothing
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "iceberg_tables" not in names:
                raise _Fail("not a rawgwh catalog (no iceberg_tables)", NOT_A_CATALOG_HINT)
            tables = db.execute("SELECT COUNT(*) FROM iceberg_tables").fetchone()[0]
    except sqlite3.Error as e:
        raise _Fail(f"not a SQLite catalog ({e})", NOT_A_CATALOG_HINT) from None
    old = created_at(root, catalog_locations(path)) if root is not None else None
    if old is not None:
        raise _Fail(f"created at {old}, then moved or copied here", moved_fix(old))
    return f"SQLite catalog, {tables} tables ({_library()})"


def _sql_catalog(uri: str) -> str:
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    try:
        url = make_url(uri)
    except ArgumentError:
        raise _Fail("not a database URL", CATALOG_HINT) from None
    if url.drivername.startswith("sqlite"):
        if not url.database or url.database == ":memory:":
            raise _Fail("an in-memory catalog keeps nothing", CATALOG_HINT)
        return _sqlite_catalog(Path(url.database).expanduser())
    postgres = url.drivername.startswith("postgres")
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 5} if postgres else {})
        try:
            with engine.connect() as connection:
                present = inspect(connection).has_table("iceberg_tables")
        finally:
            engine.dispose()
    except (NoSuchModuleError, ModuleNotFoundError):
        raise _Fail(
            f"no database driver for {url.drivername}",
            "install it, e.g. uv add 'pyiceberg[sql-postgres]'",
        ) from None
    except SQLAlchemyError as e:  # its message may quote the URL: name only
        raise _Fail(f"cannot connect ({type(e).__name__})", CATALOG_HINT) from None
    state = "rawgwh tables present" if present else "empty; the first sync creates its tables"
    return f"SQL catalog answers, {state} ({_library()})"


def _rest_headers(settings: Settings) -> dict[str, str]:
    token = settings.catalog.get("token")
    return {"Authorization": f"Bearer {token}"} if token else {}


def _rest_catalog(settings: Settings) -> tuple[str, _RestProbe]:
    uri = settings.catalog["uri"].rstrip("/")
    if not uri.startswith(("http://", "https://")):
        raise _Fail("a REST catalog URI must be an http(s) URL", CATALOG_HINT)
    warehouse = settings.catalog.get("warehouse")
    headers = _rest_headers(settings)
    try:
        response = httpx.get(
            f"{uri}/v1/config",
            params={"warehouse": warehouse} if warehouse else None,
            headers=headers,
            timeout=_TIMEOUT,
        )
    except httpx.HTTPError as e:
        raise _Fail(f"cannot connect ({type(e).__name__})", CATALOG_HINT) from None
    if response.status_code in (401, 403):
        raise _Fail(
            f"HTTP {response.status_code}: not authorised",
            "set catalog.token (or catalog.credential) for this catalog",
        )
    body = _json(response)
    defaults = body.get("defaults") if isinstance(body, dict) else None
    overrides = body.get("overrides") if isinstance(body, dict) else None
    if response.status_code != 200 or not isinstance(defaults, dict):
        raise _Fail(
            f"/v1/config answered HTTP {response.status_code}: not an Iceberg REST catalog",
            CATALOG_HINT,
        )
    config = {
        **{str(k): str(v) for k, v in defaults.items()},
        **settings.catalog,
        **{str(k): str(v) for k, v in (overrides or {}).items()},
    }
    prefix = config.get("prefix")
    served = unquote(prefix.split("|")[0]) if prefix else None  # Nessie: "branch|warehouse"
    nessie_api = _nessie_api(uri, config)
    if nessie_api is None:
        return f"Iceberg REST answers ({_library()})", _RestProbe(config, None, served)
    try:
        info = _json(httpx.get(f"{nessie_api}/v2/config", headers=headers, timeout=_TIMEOUT))
    except httpx.HTTPError:
        info = None
    spec = info.get("specVersion") if isinstance(info, dict) else None
    if spec is None:  # branches need Nessie's own API: without it, publishing fails later
        raise _Fail(
            f"Iceberg REST answers, but Nessie's API at {redact(nessie_api)}/v2 does not",
            CATALOG_HINT,
        )
    detail = f"Iceberg REST answers; Nessie (API spec {spec}), serving branch {served or 'main'}"
    return f"{detail} ({_library()})", _RestProbe(config, nessie_api, served)


def _nessie_api(uri: str, config: Mapping[str, str]) -> str | None:
    """Nessie's API root, or None when the catalog is not Nessie."""
    if not any(k.startswith("nessie.") for k in config):
        return None
    parts = urlsplit(uri)
    at = parts.path.find("/iceberg")
    if at >= 0:  # the host the user reached, not the name the server believes it has
        return f"{parts.scheme}://{parts.netloc}{parts.path[:at]}/api"
    core = config.get("nessie.core-base-uri")
    return core.rstrip("/") if core else None


# -- Nessie branch -------------------------------------------------------------------------


def _branch(settings: Settings, probe: _RestProbe | None) -> Check:
    if probe is None or probe.nessie_api is None:
        rest_failed = settings.catalog_type == "rest" and probe is None
        why = "the catalog did not answer" if rest_failed else "not a Nessie catalog"
        return Check("Nessie branch", settings.branch, None, False, f"skipped: {why}")
    api = probe.nessie_api
    # The branch syncs publish to, and the one the catalog URI serves, when they differ.
    names = list(dict.fromkeys([settings.branch, probe.served_branch or settings.branch]))
    headers = _rest_headers(settings)

    def body() -> str:
        found = []
        for name in names:
            try:
                response = httpx.get(
                    f"{api}/v2/trees/{quote(name, safe='')}", headers=headers, timeout=_TIMEOUT
                )
            except httpx.HTTPError as e:
                raise _Fail(f"cannot connect ({type(e).__name__})", CATALOG_HINT) from None
            if response.status_code == 404:
                raise _Fail(f"branch {name} does not exist", BRANCH_HINT)
            body = _json(response)
            ref = body.get("reference") if isinstance(body, dict) else None
            if response.status_code != 200 or not isinstance(ref, dict):
                raise _Fail(f"HTTP {response.status_code} for branch {name}", CATALOG_HINT)
            if ref.get("type") != "BRANCH":
                kind = str(ref.get("type", "?")).lower()
                raise _Fail(f"{name} is a {kind}, not a branch", BRANCH_HINT)
            found.append(f"{name} at {str(ref.get('hash', '?'))[:12]}")
        return "exists: " + ", ".join(found)

    return _attempt("Nessie branch", ", ".join(names), body)


# -- Dremio --------------------------------------------------------------------------------


def _dremio(settings: Settings) -> Check:
    if settings.dremio_url is None:
        return Check("Dremio", "-", None, False, "not configured (set DREMIO_URL to check it)")
    url = settings.dremio_url.rstrip("/")
    user = settings.dremio_user
    return _attempt(
        "Dremio", redact(url) + (f" as {user}" if user else ""), lambda: _dremio_up(url, settings)
    )


def _dremio_up(url: str, settings: Settings) -> str:
    try:
        status = httpx.get(f"{url}/apiv2/server_status", timeout=_TIMEOUT)
    except httpx.HTTPError as e:
        raise _Fail(f"cannot connect ({type(e).__name__})", DREMIO_HINT) from None
    if status.status_code != 200:
        raise _Fail(
            f"/apiv2/server_status answered HTTP {status.status_code}: not Dremio, or not ready",
            DREMIO_HINT,
        )
    if not settings.dremio_user:
        return "server up (no user configured, login not checked)"
    if settings.dremio_password is None:
        raise _Fail("a user but no password", "set DREMIO_PASSWORD")
    credentials = {"userName": settings.dremio_user, "password": settings.dremio_password.reveal()}
    try:
        login = httpx.post(f"{url}/apiv2/login", json=credentials, timeout=_TIMEOUT)
    except httpx.HTTPError as e:
        raise _Fail(f"login failed ({type(e).__name__})", DREMIO_HINT) from None
    if login.status_code in (401, 403):
        raise _Fail(
            f"credentials rejected (HTTP {login.status_code})",
            "check DREMIO_USER / DREMIO_PASSWORD",
        )
    if login.status_code != 200:
        raise _Fail(f"login answered HTTP {login.status_code}", DREMIO_HINT)
    return "server up, credentials accepted"
