"""Every error rawgwh raises on purpose, in one place.

Each carries a message that says what went wrong and what to do; the CLI prints
``str(error)`` on one line and exits 1. Anything else is a bug and gets a traceback
only with ``--debug``.
"""

from __future__ import annotations

__all__ = [
    "RawgwhError",
    "ConfigError",
    "SourceError",
    "AuthError",
    "UnreachableError",
    "BudgetExhausted",
    "UpstreamError",
    "WarehouseError",
    "WarehouseBusy",
    "ValidationFailed",
    "QueryError",
]


class RawgwhError(Exception):
    """Base class: a problem the user can act on. ``stage`` names where it happened."""

    stage = "rawgwh"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(RawgwhError):
    """Bad flags, environment or config file."""

    stage = "config"


class SourceError(RawgwhError):
    """Fetching from the RAWG API failed."""

    stage = "source"


class AuthError(SourceError):
    """The API answered 401/403: a missing or wrong key."""


class UnreachableError(SourceError):
    """The base URL could not be reached after retries."""


class BudgetExhausted(SourceError):
    """The request budget (``--max-requests``) or the API quota is spent."""


class UpstreamError(SourceError):
    """The API kept failing (5xx, 429, timeouts) after every retry, or answered nonsense."""


class WarehouseError(RawgwhError):
    """The Iceberg warehouse could not be opened or written."""

    stage = "warehouse"


class WarehouseBusy(WarehouseError):
    """Another sync holds the warehouse lock."""


class ValidationFailed(WarehouseError):
    """A pre-publish check failed; nothing was published."""

    stage = "validate"

    def __init__(self, message: str, failures: list[str] | None = None) -> None:
        super().__init__(message)
        self.failures = failures or []


class QueryError(RawgwhError):
    """A query could not run (bad SQL, a forbidden statement, an unknown table)."""

    stage = "query"
