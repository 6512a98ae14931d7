"""One typed, frozen settings object, built once: config file < environment < flags.

The config file (``rawgwh.toml``) has a ``[rawgwh]`` table of defaults and named
``[profiles.NAME]`` tables that override it; ``--profile`` (or ``RAWGWH_PROFILE``, or
``profile = "..."`` under ``[rawgwh]``) picks one. Each may hold a ``catalog`` table of
pyiceberg catalog properties (``type``, ``uri``, ``warehouse``, ``s3.endpoint``, ...), so
catalog settings users already have carry over unchanged.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from rawgwh.errors import ConfigError
from rawgwh.secrets import Secret, redact, register_secret

__all__ = [
    "CATALOG_TYPES",
    "CONFIG_FILE",
    "DEFAULT_BASE_URL",
    "SECRET_CATALOG_KEYS",
    "Settings",
    "load_settings",
]

DEFAULT_BASE_URL = "https://api.rawg.io/api"
CONFIG_FILE = "rawgwh.toml"
CATALOG_TYPES = ("sql", "rest")
#: pyiceberg catalog properties that hold secrets: never printed, masked in every message.
SECRET_CATALOG_KEYS = frozenset(
    {"s3.secret-access-key", "s3.session-token", "credential", "token", "password"}
)

# Environment variable -> settings field. The two RAWG_* names are the ones users already
# have from RAWG's own documentation and other tools.
_ENV = {
    "RAWG_API_KEY": "api_key",
    "RAWG_BASE_URL": "base_url",
    "RAWGWH_WAREHOUSE": "warehouse",
    "RAWGWH_MAX_REQUESTS": "max_requests",
    "RAWGWH_CONCURRENCY": "concurrency",
    "RAWGWH_TIMEOUT": "timeout",
    "RAWGWH_BRANCH": "branch",
    "RAWGWH_CATALOG_URI": "catalog_uri",
    "DREMIO_URL": "dremio_url",
    "DREMIO_USER": "dremio_user",
    "DREMIO_PASSWORD": "dremio_password",
}
# The standard AWS variables, as pyiceberg catalog properties (first one set wins).
_AWS_ENV = {
    "s3.access-key-id": ("AWS_ACCESS_KEY_ID",),
    "s3.secret-access-key": ("AWS_SECRET_ACCESS_KEY",),
    "s3.session-token": ("AWS_SESSION_TOKEN",),
    "s3.region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "s3.endpoint": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything a run needs to know. Build it with :func:`load_settings`."""

    #: A local folder (embedded) or ``s3://bucket/prefix`` where the tables' files live.
    warehouse: str = "./warehouse"
    base_url: str = DEFAULT_BASE_URL
    api_key: Secret | None = field(default=None, repr=False)
    max_requests: int | None = None
    concurrency: int = 8
    page_size: int = 40
    timeout: float = 30.0
    max_retries: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 60.0
    # Windows with more games than this are split by date: deep pagination is unreliable.
    window_limit: int = 10_000
    # Games per raw-zone commit: what an interrupted sync may have to fetch again.
    batch_games: int = 20_000
    #: The config profile these settings came from (None: no profile).
    profile: str | None = None
    #: pyiceberg catalog properties; empty means the embedded SQLite catalog in the folder.
    catalog: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: The Nessie branch a sync publishes to (REST catalogs served by Nessie).
    branch: str = "main"
    dremio_url: str | None = None
    dremio_user: str | None = None
    dremio_password: Secret | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in _SECRETS:  # a library caller may pass the key as a plain string
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Secret(value) if value else None)
        if not self.warehouse:
            raise ConfigError("the warehouse path is empty: pass --warehouse PATH")
        _check_base_url(self.base_url)
        for name in ("concurrency", "page_size", "window_limit", "batch_games"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if not 1 <= self.page_size <= 40:
            raise ConfigError("page_size must be between 1 and 40 (RAWG's maximum)")
        if self.max_requests is not None and self.max_requests < 1:
            raise ConfigError("--max-requests must be at least 1")
        if self.timeout <= 0:
            raise ConfigError("timeout must be positive")
        catalog = {str(k): str(v) for k, v in self.catalog.items()}
        for key in SECRET_CATALOG_KEYS & catalog.keys():
            register_secret(catalog[key])
        object.__setattr__(self, "catalog", MappingProxyType(catalog))
        kind = self.catalog_type
        if kind not in CATALOG_TYPES:
            raise ConfigError(
                f"catalog type {kind!r} is not supported: use one of {', '.join(CATALOG_TYPES)}"
            )
        if kind == "rest" and not catalog.get("uri"):
            raise ConfigError(
                "a REST catalog needs its URI: set catalog.uri (e.g. http://localhost:19120/iceberg)"
                " or --catalog-uri"
            )
        if self.on_s3 and kind == "sql" and not catalog.get("uri"):
            raise ConfigError(
                f"warehouse {self.warehouse} is on S3, so the catalog cannot live in it: set "
                "catalog.uri (sqlite:///path/catalog.db or postgresql+psycopg2://...) "
                "or use a REST catalog"
            )
        scheme = urlsplit(self.warehouse).scheme
        if len(scheme) > 1 and scheme not in ("s3", "s3a", "file"):
            raise ConfigError(
                f"warehouse {self.warehouse!r}: only a local folder or s3://bucket/prefix works"
            )
        if not self.branch or any(c.isspace() for c in self.branch):
            raise ConfigError(
                f"branch {self.branch!r} is not a valid branch name: give a name without "
                "spaces, e.g. --branch main"
            )
        if self.dremio_url is not None and not self.dremio_url.startswith(("http://", "https://")):
            raise ConfigError(f"dremio_url {self.dremio_url!r} is not an http(s) URL")

    @property
    def catalog_type(self) -> str:
        return self.catalog.get("type", "sql").lower()

    @property
    def on_s3(self) -> bool:
        """True when the tables' files live on S3 (or an S3-compatible server)."""
        return urlsplit(self.warehouse).scheme in ("s3", "s3a")

    @property
    def embedded(self) -> bool:
        """The embedded default: SQLite catalog and data files in one local folder."""
        return self.catalog_type == "sql" and not self.catalog.get("uri") and not self.on_s3

    @property
    def warehouse_path(self) -> Path:
        """The local warehouse folder (embedded and local-storage warehouses only)."""
        if self.on_s3:
            raise ConfigError(f"warehouse {self.warehouse} is not a local folder")
        location = self.warehouse
        if location.startswith("file://"):
            location = urlsplit(location).path
        return Path(location).expanduser().resolve()

    def catalog_properties(self) -> dict[str, str]:
        """The pyiceberg catalog properties, secrets included: pass only to pyiceberg."""
        return dict(self.catalog)

    def public_catalog(self) -> dict[str, str]:
        """The catalog properties with secret values masked, safe to print."""
        return {k: ("***" if k in SECRET_CATALOG_KEYS else v) for k, v in self.catalog.items()}

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _check_base_url(url: str) -> None:
    """Refuse a base URL that cannot work now, not after a sync has retried it for a while."""
    hint = f"pass --base-url like {DEFAULT_BASE_URL}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number in 0-65535
    except ValueError as e:
        raise ConfigError(f"base URL {redact(url)!r} is not a valid URL ({e}): {hint}") from None
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"base URL {redact(url)!r} is not an http(s) URL: {hint}")
    if "@" in parts.netloc:
        # The password would be printed wherever the URL is, and httpx refuses it anyway.
        raise ConfigError(
            f"base URL {redact(url)!r} carries a user name or password: RAWG needs only the "
            f"API key (--api-key / RAWG_API_KEY); {hint}"
        )
    if not parts.hostname:
        raise ConfigError(f"base URL {redact(url)!r} names no host: {hint}")


_FIELD_TYPES: dict[str, type] = {
    "warehouse": str,
    "base_url": str,
    "api_key": str,
    "max_requests": int,
    "concurrency": int,
    "page_size": int,
    "timeout": float,
    "max_retries": int,
    "backoff_base": float,
    "backoff_max": float,
    "window_limit": int,
    "batch_games": int,
    "profile": str,
    "catalog": dict,
    "branch": str,
    "dremio_url": str,
    "dremio_user": str,
    "dremio_password": str,
}
assert set(_FIELD_TYPES) == {f.name for f in fields(Settings)}
_SECRETS = ("api_key", "dremio_password")
# What a bad value should have been, with an example (files, flags and variables alike).
_EXPECTED: dict[type, str] = {int: "a whole number such as 10", float: "a number such as 2.5"}


def _coerce(name: str, value: Any, origin: str) -> Any:
    if value is None:
        return None
    if name == "catalog_uri":  # a flag and variable only: the file says catalog.uri
        return str(value)
    kind = _FIELD_TYPES.get(name)
    if kind is None:
        raise ConfigError(f"unknown setting {name!r} in {origin}: remove it or fix the spelling")
    if name in _SECRETS:
        return value if isinstance(value, Secret) else Secret(str(value))
    if kind is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{name} in {origin} must be a table of properties")
        out: dict[str, str] = {}
        for k, v in value.items():
            if isinstance(v, Mapping):
                raise ConfigError(
                    f"catalog property {k!r} in {origin} is a table: quote dotted names, "
                    'e.g. "s3.endpoint" = "http://localhost:9000"'
                )
            out[str(k)] = str(v).lower() if isinstance(v, bool) else str(v)
        return out
    try:
        if kind is int and isinstance(value, str):
            return int(value.replace("_", ""))
        return kind(value)
    except (TypeError, ValueError):
        expected = _EXPECTED.get(kind, f"a {kind.__name__}")
        raise ConfigError(f"{name} in {origin} must be {expected}, got {value!r}") from None


def _values(table: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """A config table's settings, coerced (``catalog`` is the one nested table allowed)."""
    values: dict[str, Any] = {}
    for k, v in table.items():
        if k == "profiles":
            continue
        if isinstance(v, dict) and k != "catalog":
            raise ConfigError(
                f"unknown table [{k}] in {origin}: settings go under [rawgwh] or "
                "[profiles.NAME], catalog properties under [profiles.NAME.catalog]"
            )
        values[k] = _coerce(k, v, origin)
    return values


def _read_config(path: Path, profile: str | None) -> tuple[dict[str, Any], str | None]:
    """The settings ``path`` gives for ``profile`` (or its default profile), and the profile."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text: save it as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    if "rawgwh" in data:
        base = data["rawgwh"]
        if not isinstance(base, dict):
            raise ConfigError(f"config file {path}: [rawgwh] must be a table")
    else:  # a bare file of settings, as in the first releases
        base = {k: v for k, v in data.items() if k != "profiles"}
    profiles = data.get("profiles", base.get("profiles", {}))
    if not isinstance(profiles, dict) or not all(isinstance(p, dict) for p in profiles.values()):
        raise ConfigError(f"config file {path}: [profiles.NAME] must be tables")
    values = _values(base, str(path))
    chosen = profile or values.pop("profile", None)
    values.pop("profile", None)
    if chosen is not None:
        if chosen not in profiles:
            known = ", ".join(sorted(profiles)) or "none defined"
            raise ConfigError(
                f"no profile {chosen!r} in {path}: add [profiles.{chosen}] or pick one of: {known}"
            )
        overrides = _values(profiles[chosen], f"{path} [profiles.{chosen}]")
        overrides.pop("profile", None)
        catalog = {**values.get("catalog", {}), **overrides.pop("catalog", {})}
        values.update(overrides)
        if catalog:
            values["catalog"] = catalog
    return values, chosen


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> Settings:
    """Merge the config file, the environment and flags (later wins); ``None`` flags are unset.

    Flags may include ``profile`` and ``catalog_uri``; the environment's ``RAWGWH_PROFILE``
    picks a profile when no flag does.
    """
    env = os.environ if env is None else env
    flags = dict(flags or {})
    profile = flags.pop("profile", None) or env.get("RAWGWH_PROFILE") or None
    values: dict[str, Any] = {}
    explicit = config_path is not None or "RAWGWH_CONFIG" in env
    path = config_path or Path(env.get("RAWGWH_CONFIG", CONFIG_FILE))
    if explicit or path.exists():
        values, profile = _read_config(path, profile)
    elif profile is not None:
        raise ConfigError(
            f"--profile {profile}: there is no config file {path}; create it with "
            f"[profiles.{profile}] or pass --config"
        )
    values["profile"] = profile
    catalog = dict(values.pop("catalog", {}))
    for prop, names in _AWS_ENV.items():
        found = next((env[n] for n in names if env.get(n)), None)
        if found is not None:
            catalog[prop] = found
    for var, name in _ENV.items():
        if env.get(var):
            values[name] = _coerce(name, env[var], f"${var}")
    for k, v in flags.items():
        if v is not None:
            values[k] = _coerce(k, v, f"--{k.replace('_', '-')}")
    uri = values.pop("catalog_uri", None)
    if uri is not None:
        catalog["uri"] = uri
        if "type" not in catalog:
            catalog["type"] = "sql" if uri.startswith(("sqlite:", "postgresql")) else "rest"
    if catalog:
        values["catalog"] = catalog
    return Settings(**values)
