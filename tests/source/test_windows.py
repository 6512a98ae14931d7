from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rawgwh.source.windows import (
    DEFAULT_FIRST_DATE,
    DEFAULT_LAST_DATE,
    LIKELY_DATES,
    MISJUDGED,
    ONE_DAY,
    TARGET_SHARE,
    DateWindow,
    Intervals,
    UndatedWindow,
    UpdatedWindow,
    parse_dates,
    release_dates,
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
        DateWindow(date(2015, 1, 1), date(2015, 12, 31), expected=120, sampled=False),
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


# -- splitting by a sample of release dates ---------------------------------------------

GARBAGE: list[Any] = [
    None,
    7,
    "2015-01-01",
    ["2015-01-01"],
    {},
    {"released": None},
    {"released": ""},
    {"released": 2015},
    {"released": "2015-13-45"},
    {"released": "soon"},
    {"released": "2015-01-01T00:00:00"},
]


def game(day: date) -> dict[str, Any]:
    return {"id": day.toordinal(), "released": day.isoformat()}


def old_even_split(window: DateWindow, count: int, limit: int) -> list[tuple[date, date]]:
    """The split before samples were used: equal spans for about half the limit each."""
    days = (window.end - window.start).days + 1
    parts = max(2, min(days, math.ceil(2 * count / limit)))
    bounds = [window.start + timedelta(days=round(i * days / parts)) for i in range(parts + 1)]
    return [(a, b - ONE_DAY) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def spans(parts: list[DateWindow]) -> list[tuple[date, date]]:
    return [(p.start, p.end) for p in parts]


def assert_tiles(window: DateWindow, parts: list[DateWindow]) -> None:
    assert len(parts) >= 2
    assert parts[0].start == window.start and parts[-1].end == window.end
    for part in parts:
        assert part.start <= part.end
    for left, right in zip(parts, parts[1:], strict=False):
        assert left.end + ONE_DAY == right.start


@st.composite
def windows_and_samples(draw: st.DrawFn) -> tuple[DateWindow, list[Any]]:
    """A window and a first page: dates inside, around and far outside it, and junk."""
    start = draw(dates)
    span = draw(st.integers(1, 40_000))
    window = DateWindow(
        start,
        start + timedelta(days=span),
        expected=draw(st.none() | st.integers(0, 10**6)),
        sampled=draw(st.booleans()),
    )
    near = st.integers(-30, span + 30).map(lambda d: game(start + timedelta(days=d)))
    far = st.dates(min_value=date(1800, 1, 1), max_value=date(2200, 1, 1)).map(game)
    records = st.one_of(near, near, far, st.sampled_from(GARBAGE))
    return window, draw(st.lists(records, max_size=60))


@given(windows_and_samples(), st.integers(0, 10**6), st.integers(40, 20_000))
def test_sampled_split_tiles_the_window_whatever_the_sample(
    case: tuple[DateWindow, list[Any]], count: int, limit: int
) -> None:
    window, sample = case
    parts = window.split(count, limit, sample)
    assert_tiles(window, parts)
    # Pure: the same answer again, whatever order the page listed its games in.
    shuffled = random.Random(count).sample(sample, len(sample))
    again = window.split(count, limit, shuffled)
    assert [(p.start, p.end, p.expected, p.sampled) for p in again] == [
        (p.start, p.end, p.expected, p.sampled) for p in parts
    ]
    # Dates outside the window and junk are ignored, not half-used.
    clean = [game(d) for d in release_dates(sample, window.start, window.end)]
    assert spans(window.split(count, limit, clean)) == spans(parts)


@given(
    dates,
    st.integers(1, 40_000),
    st.data(),
    st.integers(0, 10**6),
    st.integers(40, 20_000),
)
def test_spread_sample_gives_each_child_its_share_of_the_sample(
    start: date, span: int, data: st.DataObject, count: int, limit: int
) -> None:
    offsets = data.draw(st.sets(st.integers(0, span), min_size=2, max_size=40))
    window = DateWindow(start, start + timedelta(days=span))
    sample = [game(start + timedelta(days=d)) for d in offsets]
    parts = window.split(count, limit, sample)
    assert_tiles(window, parts)
    m = len(offsets)
    wanted = min(m, max(2, math.ceil(count / (TARGET_SHARE * limit))))
    assert len(parts) == wanted
    share = m / wanted
    held = [sum(p.start <= start + timedelta(days=d) <= p.end for d in offsets) for p in parts]
    # No child without a sample game (so none is empty), and none holds much more than its
    # share of them.
    assert all(math.floor(share) <= h <= math.ceil(share) for h in held), held
    # Each child expects the parent's games in proportion to its sample games.
    assert [p.expected for p in parts] == [round(count * h / m) for h in held]
    assert all(p.sampled for p in parts)


@given(dates, st.integers(1, 40_000), st.integers(0, 10**6), st.integers(40, 20_000), st.data())
def test_fewer_than_two_usable_dates_split_evenly(
    start: date, span: int, count: int, limit: int, data: st.DataObject
) -> None:
    # Past 2099: see test_unlikely_years_are_a_window_each.
    window = DateWindow(start, min(start + timedelta(days=span), LIKELY_DATES[1]))
    span = (window.end - start).days
    junk = data.draw(st.lists(st.sampled_from(GARBAGE), max_size=40))
    one = data.draw(st.lists(st.integers(0, span), max_size=1))
    outside = [game(start - ONE_DAY), game(window.end + ONE_DAY)]
    sample = junk + [game(start + timedelta(days=d)) for d in one] + outside
    parts = window.split(count, limit, sample)
    assert spans(parts) == old_even_split(window, count, limit)
    assert all(p.expected is None and p.sampled for p in parts)


@given(dates, st.integers(1, 3_000), st.data(), st.integers(2, 40))
def test_a_day_holding_the_whole_sample_gets_its_own_window(
    start: date, span: int, data: st.DataObject, copies: int
) -> None:
    window = DateWindow(start, start + timedelta(days=span))
    day = start + timedelta(days=data.draw(st.integers(0, span)))
    parts = window.split(50_000, 10_000, [game(day)] * copies)
    assert_tiles(window, parts)
    assert (day, day) in spans(parts)
    assert [p.expected for p in parts if p.start == day] == [50_000]


@given(dates, st.integers(1, 40_000), st.integers(1, 5_000), st.data())
def test_a_misjudged_window_and_its_children_split_evenly(
    start: date, span: int, expected: int, data: st.DataObject
) -> None:
    limit = 1_000
    count = data.draw(st.integers(MISJUDGED * expected + 1, MISJUDGED * expected + 10**6))
    count = max(count, limit + 1)
    end = min(start + timedelta(days=span), LIKELY_DATES[1])  # past 2099: see below
    span = (end - start).days
    window = DateWindow(start, end, expected=expected)
    sample = [game(start + timedelta(days=d)) for d in range(0, span + 1, max(1, span // 39))]
    assert window.misjudged(count)
    parts = window.split(count, limit, sample)
    assert spans(parts) == old_even_split(window, count, limit)
    assert not any(p.sampled for p in parts)
    # The sample stays distrusted below: a biased sample costs one level, not every level.
    child = max(parts, key=lambda p: p.end - p.start)
    if child.splittable:
        below = child.split(count, limit, sample)
        assert spans(below) == old_even_split(child, count, limit)


def test_a_window_no_fuller_than_expected_trusts_its_sample() -> None:
    window = DateWindow(date(2015, 1, 1), date(2015, 12, 31), expected=10_000)
    sample = [game(date(2015, 1, 1) + timedelta(days=9 * i)) for i in range(40)]
    assert not window.misjudged(MISJUDGED * 10_000)
    parts = window.split(MISJUDGED * 10_000, 10_000, sample)
    assert len(parts) == math.ceil(MISJUDGED * 10_000 / (TARGET_SHARE * 10_000))
    assert all(p.expected is not None for p in parts)


def test_a_catalogue_from_1975_on_costs_no_request_for_its_empty_decades() -> None:
    window = DateWindow(date(1900, 1, 1), date(2099, 12, 31))
    sample = [game(date(1975 + i, 6, 1)) for i in range(40)]
    parts = window.split(100_000, 10_000, sample)
    # Each child holds sample games; the old split made 20 spans of 10 years, 7 of them
    # before 1970.
    assert spans(parts)[0] == (date(1900, 1, 1), parts[1].start - ONE_DAY)
    assert parts[0].end >= date(1975, 6, 1) and parts[-1].start <= date(2014, 6, 1)
    assert len(parts) == math.ceil(100_000 / (TARGET_SHARE * 10_000))


def test_unlikely_years_are_a_window_each() -> None:
    # The backfill's window spans years 1-9999: split evenly, the years before 1900 and
    # after 2099 are one window each, and the likely ones are split as they always were.
    window = DateWindow(DEFAULT_FIRST_DATE, DEFAULT_LAST_DATE)
    parts = spans(window.split(50_000, 10_000))
    likely = DateWindow(*LIKELY_DATES)
    assert parts[0] == (date(1, 1, 1), date(1899, 12, 31))
    assert parts[-1] == (date(2100, 1, 1), date(9999, 12, 31))
    assert parts[1:-1] == old_even_split(likely, 50_000, 10_000)
    assert spans(DateWindow(date(1990, 1, 1), DEFAULT_LAST_DATE).split(5, 2))[-1] == (
        date(2100, 1, 1),
        date(9999, 12, 31),
    )


def test_intervals_reach_the_first_and_last_dates() -> None:
    # A backfill of years 1-9999 records windows ending on the last day there is.
    done = Intervals(ONE_DAY)
    done.add(date(2015, 1, 1), DEFAULT_LAST_DATE)
    done.add(DEFAULT_FIRST_DATE, date(1899, 12, 31))
    assert done.gaps(DEFAULT_FIRST_DATE, DEFAULT_LAST_DATE) == [
        (date(1900, 1, 1), date(2014, 12, 31))
    ]
    done.add(date(1900, 1, 1), date(2014, 12, 31))
    assert done.items == [(DEFAULT_FIRST_DATE, DEFAULT_LAST_DATE)]
    assert done.gaps(DEFAULT_FIRST_DATE, DEFAULT_LAST_DATE) == []
