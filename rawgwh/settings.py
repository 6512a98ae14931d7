"""One typed, frozen settings object, built once: config file < environment < flags."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rawgwh.errors import ConfigError
from rawgwh.secrets import Secret

__all__ = ["Settings", "load_settings", "DEFAULT_BASE_URL", "CONFIG_FILE"]

DEFAULT_BASE_URL = "https://api.rawg.io/api"
CONFIG_FILE = "rawgwh.toml"

# Environment variable -> settings field. The two RAWG_* names are the ones users already
# have from RAWG's own documentation and other tools.
_ENV = {
    "RAWG_API_KEY": "api_key",
    "RAWG_BASE_URL": "base_url",
    "RAWGWH_WAREHOUSE": "warehouse",
    "RAWGWH_MAX_REQUESTS": "max_requests",
    "RAWGWH_CONCURRENCY": "concurrency",
    "RAWGWH_TIMEOUT": "timeout",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything a run needs to know. Build it with :func:`load_settings`."""

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

    def __post_init__(self) -> None:
        if not self.warehouse:
            raise ConfigError("the warehouse path is empty: pass --warehouse PATH")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"base URL {self.base_url!r} is not an http(s) URL: "
                f"pass --base-url like {DEFAULT_BASE_URL}"
            )
        for name in ("concurrency", "page_size", "window_limit", "batch_games"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if not 1 <= self.page_size <= 40:
            raise ConfigError("page_size must be between 1 and 40 (RAWG's maximum)")
        if self.max_requests is not None and self.max_requests < 1:
            raise ConfigError("--max-requests must be at least 1")
        if self.timeout <= 0:
            raise ConfigError("timeout must be positive")

    @property
    def warehouse_path(self) -> Path:
        return Path(self.warehouse).expanduser().resolve()

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


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
}
assert set(_FIELD_TYPES) == {f.name for f in fields(Settings)}


def _coerce(name: str, value: Any, origin: str) -> Any:
    if value is None:
        return None
    kind = _FIELD_TYPES.get(name)
    if kind is None:
        raise ConfigError(f"unknown setting {name!r} in {origin}: remove it or fix the spelling")
    if name == "api_key":
        return value if isinstance(value, Secret) else Secret(str(value))
    try:
        if kind is int and isinstance(value, str):
            return int(value.replace("_", ""))
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} in {origin} must be a {kind.__name__}, got {value!r}") from None


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    section = data.get("rawgwh", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [rawgwh] must be a table")
    return {k: v for k, v in section.items() if not isinstance(v, dict)}


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> Settings:
    """Merge the config file, the environment and flags (later wins); ``None`` flags are unset."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    explicit = config_path is not None or "RAWGWH_CONFIG" in env
    path = config_path or Path(env.get("RAWGWH_CONFIG", CONFIG_FILE))
    if explicit or path.exists():
        for k, v in _read_config(path).items():
            values[k] = _coerce(k, v, str(path))
    for var, name in _ENV.items():
        if env.get(var):
            values[name] = _coerce(name, env[var], f"${var}")
    for k, v in (flags or {}).items():
        if v is not None:
            values[k] = _coerce(k, v, f"--{k.replace('_', '-')}")
    return Settings(**values)
