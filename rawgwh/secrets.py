"""Secrets that cannot leak by accident, and the one place URLs and text are redacted.

The RAWG key travels in the query string (``?key=...``), so every URL is a potential
leak: httpx logs request URLs, exceptions quote them, and ``next`` links carry them.
Everything that may reach a person or a file goes through :func:`redact` first. A URL may
also carry a password (``http://user:password@host``, a catalog's database URL): redact
masks that too.
"""

from __future__ import annotations

import logging
import re
import threading

__all__ = ["Secret", "redact", "install_log_redaction", "register_secret"]

_KEY_PARAM = re.compile(r"(?i)([?&](?:key|api_key|apikey|token)=)[^&#\s\"']*")
# scheme://user:PASSWORD@host. A database URL's password may hold '/' (SQLAlchemy reads up to
# the '@'), and an unescaped '@' in it means the last '@' ends it (as urlsplit reads it).
_URL_PASSWORD = re.compile(
    r"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s/?#@:]*:)[^\s@]*(?:@[^\s@/?#]*(?=@))*@"
)
_SHORT = 4
_known: set[str] = set()
_lock = threading.Lock()


class Secret:
    """A string that prints as ``***``. Call :meth:`reveal` where the real value is needed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def register_secret(value: str) -> None:
    """Remember a secret value so :func:`redact` masks it wherever it appears.

    A value shorter than :data:`_SHORT` is masked only as a whole word: masking every
    ``abc`` inside other words would garble messages.
    """
    if value:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    """Mask ``key=`` query parameters, URL passwords and every registered secret in ``text``."""
    text = _KEY_PARAM.sub(r"\1***", text)
    text = _URL_PASSWORD.sub(r"\1***@", text)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value not in text:
            continue
        if len(value) >= _SHORT:
            text = text.replace(value, "***")
        else:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", "***", text)
    return text


_installed = False


def install_log_redaction() -> None:
    """Redact every log record at creation, whichever library logs it (httpx logs URLs).

    A record factory, unlike a logger filter, also covers child loggers and handlers we
    do not own.
    """
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return record

    logging.setLogRecordFactory(factory)
