"""``parse_games`` on anything JSON can hold: it never raises, it loses no record.

Every record either lands in the table or becomes a reject with a reason; a well-formed
record always lands, whatever its neighbours on the page are; the order of records does
not change what lands.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stress.summary import count

from rawgwh.raw import parse_games
from rawgwh.raw.schema import RAW_GAMES_SCHEMA, WIRE_GAME

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FETCHED = datetime(2026, 1, 1)
FIELDS = [f.name for f in WIRE_GAME]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),  # beyond int64 on both sides
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["", "2015-01-01", "2015-02-30", "2015-01-01T00:00:00", "x" * 5_000]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)

timestamps = st.datetimes(datetime(1990, 1, 1), datetime(2030, 1, 1)).map(
    lambda d: d.replace(microsecond=0).isoformat()
)
valid_games = st.fixed_dictionaries(
    {"id": st.integers(1, 2**62), "updated": timestamps},
    optional={
        "name": st.one_of(st.none(), st.text(max_size=50)),
        "released": st.one_of(st.none(), st.dates().map(str)),
        "rating": st.one_of(st.none(), st.floats(0, 5)),
        "tags": st.one_of(
            st.none(),
            st.lists(
                st.fixed_dictionaries({"id": st.integers(1, 99), "name": st.text(max_size=9)}),
                max_size=3,
            ),
        ),
        "whatever_new_field": json_values,  # extra fields are ignored
    },
)


@st.composite
def damaged_games(draw: st.DrawFn) -> dict[str, Any]:
    """A valid game with one field (maybe the id or updated) replaced by any JSON value."""
    game = dict(draw(valid_games))
    game[draw(st.sampled_from(FIELDS))] = draw(json_values)
    return game


records = st.one_of(json_values, valid_games, damaged_games())


def _as_json(values: list[Any]) -> list[Any]:
    """Values as the API client sees them: JSON text decoded by orjson (which reads
    integers beyond 64 bits as floats and up to 2**64 - 1 as integers)."""
    loaded: list[Any] = orjson.loads(json.dumps(values))
    return loaded


def _parse(values: list[Any]) -> tuple[pa.Table, list[Any]]:
    count("bad inputs tried", len(values))
    parsed = parse_games(values, sync_id="prop", fetched_at=FETCHED)
    return parsed.games, parsed.rejects


@SETTINGS
@given(st.lists(records, max_size=12))
def test_parse_never_raises_and_loses_nothing(values: list[Any]) -> None:
    values = _as_json(values)
    games, rejects = _parse(values)
    assert games.schema == RAW_GAMES_SCHEMA
    assert games.num_rows + len(rejects) == len(values)
    assert all(r.reason and isinstance(r.record, str) for r in rejects)
    for record in games.column("record").to_pylist():
        assert isinstance(orjson.loads(record), dict)


@SETTINGS
@given(st.lists(valid_games, min_size=1, max_size=6), st.lists(records, max_size=8), st.randoms())
def test_valid_games_land_whatever_their_neighbours(
    good: list[dict[str, Any]], noise: list[Any], rng: Any
) -> None:
    page = _as_json(good + noise)
    rng.shuffle(page)
    games, _ = _parse(page)
    landed = games.column("id").to_pylist()
    for game in _as_json(good):
        assert game["id"] in landed


@SETTINGS
@given(st.lists(records, max_size=10), st.randoms())
def test_record_order_does_not_change_what_lands(values: list[Any], rng: Any) -> None:
    values = _as_json(values)
    shuffled = list(values)
    rng.shuffle(shuffled)
    first, rejects_first = _parse(values)
    second, rejects_second = _parse(shuffled)
    assert sorted(first.column("record").to_pylist()) == sorted(second.column("record").to_pylist())
    assert sorted(r.reason for r in rejects_first) == sorted(r.reason for r in rejects_second)
