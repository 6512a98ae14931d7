from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rawgwh.source.windows import (
    ONE_DAY,
    DateWindow,
    Intervals,
    UndatedWindow,
    UpdatedWindow,
    parse_dates,
    window_from_key,
)

dates = st.dates(min_value=date(1950, 1, 1), max_value=date(2060, 12, 31))


@given(dates, st.integers(0, 20_000), st.integers(1, 40_000), st.integers(40, 20_000))
def test_date_split_covers_window_exactly(start: date, span: int, count: int, limit: int) -> None:
    window = DateWindow(start, start + timedelta(days=span))
    if not window.splittable:
        return
    parts = window.split(count, limit)
    assert len(parts) >= 2
    assert parts[0].start == window.start and parts[-1].end == window.end
    for left, right in zip(parts, parts[1:], strict=False):
        assert left.end + ONE_DAY == right.start
        assert left.start <= left.end


@given(st.integers(1, 10**7), st.integers(1, 10**6))
def test_updated_split_covers_window_exactly(span: int, count: int) -> None:
    start = datetime(2020, 1, 1)
    window = UpdatedWindow(start, start + timedelta(seconds=span))
    parts = window.split(count, 1000)
    assert parts[0].start == window.start and parts[-1].end == window.end
    for left, right in zip(parts, parts[1:], strict=False):
        assert left.end + timedelta(seconds=1) == right.start


@pytest.mark.parametrize(
    "window",
    [
        DateWindow(date(2015, 1, 1), date(2015, 12, 31)),
        UpdatedWindow(datetime(2020, 1, 1, 10, 0, 0), datetime(2020, 1, 2, 0, 0, 0)),
        UndatedWindow(),
        UndatedWindow(descending=False),
    ],
)
def test_window_keys_round_trip(window: object) -> None:
    assert window_from_key(window.key) == window  # type: ignore[attr-defined]


@given(st.lists(st.tuples(dates, st.integers(0, 400)), max_size=12), dates, st.integers(0, 9000))
def test_intervals_gaps_are_the_complement(
    spans: list[tuple[date, int]], start: date, length: int
) -> None:
    end = start + timedelta(days=length)
    covered = Intervals(ONE_DAY)
    days: set[date] = set()
    for a, n in spans:
        covered.add(a, a + timedelta(days=n))
        days.update(a + timedelta(days=i) for i in range(n + 1))
    gap_days: set[date] = set()
    for a, b in covered.gaps(start, end):
        assert start <= a <= b <= end
        gap_days.update(a + timedelta(days=i) for i in range((b - a).days + 1))
    wanted = {start + timedelta(days=i) for i in range(length + 1)} - days
    assert gap_days == wanted
    # Stored merged: no two intervals touch or overlap.
    for (_, b), (c, _) in zip(covered.items, covered.items[1:], strict=False):
        assert b + ONE_DAY < c
    assert Intervals(ONE_DAY, [tuple(x) for x in covered.dump()]).items == covered.items  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    ["2015-01-01", "2015-13-01,2015-12-31", "2016-01-01,2015-01-01", "yesterday,today", ""],
)
def test_bad_dates_are_refused_with_a_hint(text: str) -> None:
    with pytest.raises(ValueError, match="--dates"):
        parse_dates(text)


def test_good_dates() -> None:
    assert parse_dates(" 2015-01-01 , 2015-12-31") == (date(2015, 1, 1), date(2015, 12, 31))
