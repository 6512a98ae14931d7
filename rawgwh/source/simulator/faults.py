"""Faults the simulator can inject, deterministic given a seed and the request order.

``Faults`` is the configuration; ``FaultPlan`` is its state while a server runs and decides,
request by request, which fault (if any) happens. ``fail_first`` scripts exact scenarios:
``Faults(fail_first={"429": 2})`` throttles the first two requests and nothing else.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

__all__ = ["FaultKind", "Faults", "FaultPlan", "TRANSPORT_FAULTS", "DEFAULT_KINDS", "SURVIVABLE"]


class FaultKind(StrEnum):
    RATE_LIMIT = "429"  # 429 with Retry-After
    SERVER_ERROR = "5xx"  # 500/502/503, JSON or HTML body
    SLOW = "slow"  # a correct answer after ``slow_seconds``
    MOVE = "move"  # a game of the query is updated before the page is cut
    VANISH = "vanish"  # a game of the query is deleted: count shrinks mid-window
    TRUNCATED = "truncated"  # the connection drops half-way through the body
    BAD_JSON = "bad_json"  # a complete HTTP answer whose JSON is cut short
    HTML = "html"  # 200 with an HTML page (a proxy or captcha)
    DUPLICATE = "duplicate"  # one game twice on the page (the page has one extra)
    WRONG_TYPE = "wrong_type"  # one record with a field of the wrong type
    ODD_TEXT = "odd_text"  # one record with a huge or oddly-encoded name
    MISSING_FIELD = "missing_field"  # one record lacks a field (id and updated included)
    COUNT_DRIFT = "count_drift"  # ``count`` off by up to two pages (a stale count cache)


# Answered before the query is looked at.
TRANSPORT_FAULTS = frozenset(
    {FaultKind.RATE_LIMIT, FaultKind.SERVER_ERROR, FaultKind.HTML, FaultKind.SLOW}
)
# Faults that leave the served data true: retry, dedupe or re-window and the sync is exact.
# The others serve damaged records or delete games, which no client can undo.
SURVIVABLE = frozenset(FaultKind) - {
    FaultKind.VANISH,
    FaultKind.WRONG_TYPE,
    FaultKind.ODD_TEXT,
    FaultKind.MISSING_FIELD,
}
DEFAULT_KINDS = frozenset(
    {FaultKind.RATE_LIMIT, FaultKind.SERVER_ERROR, FaultKind.SLOW, FaultKind.MOVE}
)


@dataclass(frozen=True, kw_only=True)
class Faults:
    """What goes wrong and how often: each request fails with probability ``rate``."""

    rate: float = 0.0
    kinds: Collection[str] = DEFAULT_KINDS
    seed: int = 0
    retry_after: float | None = 0  # seconds in Retry-After; None sends no header
    slow_seconds: float = 0.2
    fail_first: Mapping[str, int] = field(default_factory=dict)  # kind -> first N requests

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", frozenset(FaultKind(k) for k in self.kinds))
        object.__setattr__(
            self, "fail_first", {FaultKind(k): n for k, n in self.fail_first.items()}
        )
        if not 0 <= self.rate <= 1:
            raise ValueError(f"rate must be between 0 and 1, got {self.rate}")
        if self.rate and not self.kinds:
            raise ValueError("a fault rate needs at least one kind")

    @classmethod
    def all(cls, *, rate: float = 0.1, seed: int = 0) -> Faults:
        """Every fault a correct client can survive and still sync exactly (soak tests)."""
        return cls(rate=rate, kinds=SURVIVABLE, seed=seed)


class FaultPlan:
    """The running state of ``Faults``: one decision per request, in order."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.rng = random.Random(f"faults:{faults.seed}")
        self._script = [k for k, n in faults.fail_first.items() for _ in range(n)]
        self._kinds = sorted(
            FaultKind(k) for k in faults.kinds
        )  # sorted: set order must not change the draws

    def next(self) -> FaultKind | None:
        if self._script:
            return FaultKind(self._script.pop(0))
        if self.faults.rate and self.rng.random() < self.faults.rate:
            return self.rng.choice(self._kinds)
        return None

    # -- the bodies and record damage each fault produces --------------------------
    def server_error(self) -> tuple[int, str, bytes]:
        status = self.rng.choice((500, 502, 503))
        if self.rng.random() < 0.5:
            return status, "application/json", b'{"detail":"Internal server error."}'
        html = f"<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"
        return status, "text/html; charset=utf-8", html.encode()

    def drift(self, count: int, page_size: int) -> int:
        """A ``count`` that disagrees with the pages: RAWG's count lags behind its data."""
        return max(0, count + self.rng.choice((-1, 1)) * self.rng.randint(1, 2 * page_size))

    def duplicate(self, blobs: list[bytes]) -> list[bytes]:
        if not blobs:
            return blobs
        copy = blobs[self.rng.randrange(len(blobs))]
        at = self.rng.randrange(len(blobs) + 1)
        return [*blobs[:at], copy, *blobs[at:]]

    def wrong_type(self, blobs: list[bytes]) -> list[bytes]:
        return self._damage(blobs, self._retype)

    def odd_text(self, blobs: list[bytes]) -> list[bytes]:
        return self._damage(blobs, self._oddify)

    def missing_field(self, blobs: list[bytes]) -> list[bytes]:
        return self._damage(blobs, self._drop)

    def _damage(self, blobs: list[bytes], how: Any) -> list[bytes]:
        if not blobs:
            return blobs
        i = self.rng.randrange(len(blobs))
        record = orjson.loads(blobs[i])
        how(record)
        return [*blobs[:i], orjson.dumps(record), *blobs[i + 1 :]]

    def _retype(self, record: dict[str, Any]) -> None:
        key = self.rng.choice(("id", "updated", "released", "rating", "platforms", "tags"))
        value = record.get(key)
        record[key] = {
            "id": str(value),
            "updated": 1_600_000_000,
            "released": 20150101,
            "rating": str(value),
            "platforms": "PC, PlayStation 4",
            "tags": {"id": 31, "name": "Singleplayer"},
        }[key]

    def _drop(self, record: dict[str, Any]) -> None:
        key = self.rng.choice(("id", "updated", "name", "released", "platforms", "rating"))
        record.pop(key, None)

    def _oddify(self, record: dict[str, Any]) -> None:
        odd = self.rng.choice(
            (
                "Z\u0351\u0308\u0327a\u0336lgo" * 50,  # stacked combining marks
                "\u202eevil right-to-left\u202c",
                "emoji 🎮👾 and astral 𝔊𝔞𝔪𝔢",
                "nul \u0000 and bell \u0007 inside",
                "x" * 200_000,
            )
        )
        record["name"] = odd
