"""Windows: bounded slices of the catalogue that each paginate reliably.

A backfill walks *release-date* windows (``dates=A,B``), ordered by ``created`` so that
pages do not shift while games are updated. An incremental run walks *update* windows
(``updated=A,B``) with keyset pagination on ``updated``: each request starts at the last
``updated`` seen, so a game that moves while we read cannot push another past us.
Games without a release date are their own window (``undated``).

Everything here is pure: windows, their query parameters, splitting, and interval sets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

__all__ = [
    "Window",
    "DateWindow",
    "UpdatedWindow",
    "UndatedWindow",
    "parse_dates",
    "parse_timestamp",
    "format_timestamp",
    "window_from_key",
    "Intervals",
    "release_dates",
    "DEFAULT_FIRST_DATE",
    "DEFAULT_LAST_DATE",
    "LIKELY_DATES",
    "TARGET_SHARE",
    "MISJUDGED",
]

# The widest dates the API takes: a game may carry any year (placeholders, typos).
DEFAULT_FIRST_DATE = date(1, 1, 1)
DEFAULT_LAST_DATE = date(9999, 12, 31)
# Where nearly every game's release date lies.
LIKELY_DATES = (date(1900, 1, 1), date(2099, 12, 31))
ONE_DAY = timedelta(days=1)
ONE_SECOND = timedelta(seconds=1)
# A split aims each child at this share of the window limit. Fuller leaves mean fewer partly
# filled last pages, but a 40-game sample misjudges counts, and a child over the limit costs
# one more request to split again. 0.7 to 0.9 cost about the same on synthetic catalogues.
TARGET_SHARE = 0.8
# A child holding this many times the games its split expected shows a sample that misled
# (say, the first-created games of a window all from one era): it and its children are
# split evenly instead, so a biased sample costs at most one extra level.
MISJUDGED = 3


@dataclass(frozen=True, slots=True)
class DateWindow:
    """Games released from ``start`` to ``end``, both inclusive."""

    start: date
    end: date
    kind: Literal["dates"] = "dates"
    # Hints from the split that made this window, not part of its identity (key, equality):
    # the games it was expected to hold, and whether samples are still to be trusted.
    expected: int | None = field(default=None, compare=False)
    sampled: bool = field(default=True, compare=False)

    @property
    def key(self) -> str:
        return f"dates:{self.start.isoformat()}:{self.end.isoformat()}"

    def params(self) -> dict[str, str]:
        return {"dates": f"{self.start.isoformat()},{self.end.isoformat()}", "ordering": "created"}

    @property
    def splittable(self) -> bool:
        return self.end > self.start

    def misjudged(self, count: int) -> bool:
        """The split that made this window badly underestimated it: its sample misled."""
        return self.expected is not None and count > MISJUDGED * max(1, self.expected)

    def split(self, count: int, limit: int, sample: Sequence[object] = ()) -> list[DateWindow]:
        """Children that tile this window, each expected to hold about ``TARGET_SHARE`` of
        ``limit`` games.

        ``sample`` is the window's first page (games as the API sends them): with two or more
        release dates inside the window, the cuts fall between sample dates so that each child
        holds about the same number of them; a decade without games costs no request. Else
        (or when this window's own sample misled, see :meth:`misjudged`) equal spans.
        """
        if not self.splittable:
            return [self]
        trusted = self.sampled and not self.misjudged(count)
        dates = release_dates(sample, self.start, self.end) if trusted else []
        if len(dates) < 2:
            return self._even(count, limit, sampled=trusted)
        return self._by_sample(dates, count, limit)

    def _even(self, count: int, limit: int, *, sampled: bool) -> list[DateWindow]:
        """Equal spans, enough that each should hold about half the limit. Years outside
        :data:`LIKELY_DATES` are a window each: spread over ten thousand years, equal spans
        would cost a request for every empty century."""
        low, high = max(self.start, LIKELY_DATES[0]), min(self.end, LIKELY_DATES[1])
        if low <= high and (low, high) != (self.start, self.end):
            before = [DateWindow(self.start, low - ONE_DAY, sampled=sampled)]
            after = [DateWindow(high + ONE_DAY, self.end, sampled=sampled)]
            likely = DateWindow(low, high, sampled=sampled)._even(count, limit, sampled=sampled)
            return before * (self.start < low) + likely + after * (high < self.end)
        days = (self.end - self.start).days + 1
        parts = max(2, min(days, math.ceil(2 * count / limit)))
        # Offsets, not dates: the day after the last bound may be past 9999-12-31.
        offsets = [round(i * days / parts) for i in range(parts + 1)]
        return [
            DateWindow(
                self.start + timedelta(days=a), self.start + timedelta(days=b - 1), sampled=sampled
            )
            for a, b in zip(offsets, offsets[1:], strict=False)
            if b > a
        ]

    def _by_sample(self, dates: list[date], count: int, limit: int) -> list[DateWindow]:
        days = sorted(set(dates))
        if len(days) == 1:
            # Every sample on one day (a date many games share): give that day its own window.
            cuts = [days[0], days[0] + ONE_DAY]
        else:
            parts = min(len(days), max(2, math.ceil(count / (TARGET_SHARE * limit))))
            # Sample dates up to and including each distinct day.
            upto = [sum(1 for d in dates if d <= day) for day in days[:-1]]
            chosen = {
                min(range(len(upto)), key=lambda g: (abs(upto[g] - j * len(dates) / parts), g))
                for j in range(1, parts)
            }
            cuts = [_halfway(days[g], days[g + 1]) for g in sorted(chosen)]
        bounds = [self.start, *(c for c in cuts if self.start < c <= self.end)]
        ends = [b - ONE_DAY for b in bounds[1:]] + [self.end]
        return [
            DateWindow(
                a, b, expected=round(count * sum(1 for d in dates if a <= d <= b) / len(dates))
            )
            for a, b in zip(bounds, ends, strict=True)
        ]


@dataclass(frozen=True, slots=True)
class UpdatedWindow:
    """Games whose ``updated`` lies from ``start`` to ``end`` (whole seconds, inclusive)."""

    start: datetime
    end: datetime
    kind: Literal["updated"] = "updated"

    @property
    def key(self) -> str:
        return f"updated:{format_timestamp(self.start)}|{format_timestamp(self.end)}"

    def params(self, cursor: datetime | None = None) -> dict[str, str]:
        lower = cursor or self.start
        return {
            "updated": f"{format_timestamp(lower)},{format_timestamp(self.end)}",
            "ordering": "updated",
        }

    @property
    def splittable(self) -> bool:
        return self.end > self.start

    def split(self, count: int, limit: int) -> list[UpdatedWindow]:
        seconds = int((self.end - self.start).total_seconds()) + 1
        parts = max(2, min(seconds, math.ceil(2 * count / limit)))
        bounds = [
            self.start + timedelta(seconds=round(i * seconds / parts)) for i in range(parts + 1)
        ]
        return [
            UpdatedWindow(a, b - ONE_SECOND)
            for a, b in zip(bounds, bounds[1:], strict=False)
            if b > a
        ]


@dataclass(frozen=True, slots=True)
class UndatedWindow:
    """Games with no release date. No filter selects them, so we read the end of the
    ``released`` ordering where nulls gather, and stop at the first dated game."""

    descending: bool = True
    kind: Literal["undated"] = "undated"

    @property
    def key(self) -> str:
        return "undated:desc" if self.descending else "undated:asc"

    def params(self) -> dict[str, str]:
        return {"ordering": "-released" if self.descending else "released"}


Window = DateWindow | UpdatedWindow | UndatedWindow


def _halfway(earlier: date, later: date) -> date:
    """The first day of the later child when cutting between two sample dates: halfway, as
    the games between them are unknown either way."""
    return earlier + timedelta(days=((later - earlier).days + 1) // 2)


def release_dates(records: Sequence[object], start: date, end: date) -> list[date]:
    """The valid ``released`` dates of ``records`` from ``start`` to ``end``, sorted."""
    out: list[date] = []
    for record in records:
        value = record.get("released") if isinstance(record, dict) else None
        if not isinstance(value, str):
            continue
        try:
            day = date.fromisoformat(value)
        except ValueError:
            continue
        if start <= day <= end:
            out.append(day)
    return sorted(out)


def window_from_key(key: str) -> Window:
    kind, _, rest = key.partition(":")
    if kind == "dates":
        a, b = rest.split(":")
        return DateWindow(date.fromisoformat(a), date.fromisoformat(b))
    if kind == "updated":
        a, b = rest.split("|")
        return UpdatedWindow(parse_timestamp(a), parse_timestamp(b))
    if kind == "undated":
        return UndatedWindow(descending=rest != "asc")
    raise ValueError(f"unknown window key {key!r}")


def parse_dates(text: str) -> tuple[date, date]:
    """Parse ``--dates FROM,TO`` (ISO dates, inclusive)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise ValueError(f"--dates must be FROM,TO like 2015-01-01,2015-12-31, got {text!r}")
    try:
        start, end = date.fromisoformat(parts[0]), date.fromisoformat(parts[1])
    except ValueError:
        raise ValueError(
            f"--dates must be two dates YYYY-MM-DD,YYYY-MM-DD (e.g. 2015-01-01,2015-12-31), "
            f"got {text!r}"
        ) from None
    if end < start:
        raise ValueError(f"--dates {text!r} ends before it starts: put the earlier date first")
    return start, end


def parse_timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.replace(tzinfo=None) if value.tzinfo else value


def format_timestamp(value: datetime) -> str:
    return value.replace(microsecond=0).isoformat(timespec="seconds")


class Intervals:
    """A set of closed intervals over dates or whole seconds, kept merged."""

    def __init__(self, step: timedelta, items: list[tuple[str, str]] | None = None) -> None:
        self.step = step
        self._parse = date.fromisoformat if step == ONE_DAY else parse_timestamp
        self.items: list[tuple[date | datetime, date | datetime]] = []
        for a, b in items or []:
            self.add(self._parse(a), self._parse(b))

    def add(self, start: date | datetime, end: date | datetime) -> None:
        merged: list[tuple[date | datetime, date | datetime]] = []
        for a, b in sorted([*self.items, (start, end)]):
            # Differences, not sums: the day after 9999-12-31 does not exist.
            if merged and (a <= merged[-1][1] or a - merged[-1][1] <= self.step):  # type: ignore[operator]
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        self.items = merged

    def gaps(self, start: date | datetime, end: date | datetime) -> list[tuple[Any, Any]]:
        """The parts of ``[start, end]`` not covered."""
        out: list[tuple[Any, Any]] = []
        cursor = start
        for a, b in self.items:
            if b < cursor:
                continue
            if a > end:
                break
            if a > cursor:
                out.append((cursor, a - self.step))
            if b >= end:
                return out
            cursor = max(cursor, b + self.step)
        if cursor <= end:
            out.append((cursor, end))
        return out

    def dump(self) -> list[list[str]]:
        return [[_iso(a), _iso(b)] for a, b in self.items]


def _iso(value: date | datetime) -> str:
    return format_timestamp(value) if isinstance(value, datetime) else value.isoformat()
