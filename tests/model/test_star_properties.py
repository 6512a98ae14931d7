"""Invariants of the star model on generated API-shaped game versions.

Incremental builds are compared with full builds through natural keys: surrogate keys
follow the order members arrive in, so a member first seen in a later batch may hold a
different number than in a full build, by design.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rawgwh.model import DIMENSIONS, STAR_TABLES, build_star, merge_star, star_to_arrow
from rawgwh.raw import parse_games
from rawgwh.warehouse.validate import run_checks

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EPOCH = datetime(2026, 1, 1)

texts = st.sampled_from(["a", "b", "Ü", None])
small_ids = st.one_of(st.none(), st.integers(1, 6))
dates = st.one_of(st.none(), st.dates(date(2014, 12, 25), date(2015, 1, 10)).map(str))


def ref(**extra: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"id": small_ids, "name": texts, "slug": texts, **extra})


def lists(element: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.lists(st.one_of(element, st.none()), max_size=4))


game_body = st.fixed_dictionaries(
    {
        "name": texts,
        "slug": texts,
        "released": dates,
        "tba": st.booleans(),
        "rating": st.one_of(st.none(), st.floats(0, 5)),
        "added_by_status": st.one_of(
            st.none(), st.fixed_dictionaries({}, optional={"owned": st.integers(0, 9)})
        ),
        "esrb_rating": st.one_of(st.none(), ref()),
        "platforms": lists(st.fixed_dictionaries({"platform": ref(), "released_at": dates})),
        "parent_platforms": lists(st.fixed_dictionaries({"platform": ref()})),
        "genres": lists(ref(games_count=st.integers(0, 3))),
        "stores": lists(st.fixed_dictionaries({"id": small_ids, "store": ref(domain=texts)})),
        "tags": lists(
            ref(language=st.sampled_from(["eng", "rus", None]), games_count=st.integers(0, 3))
        ),
        "ratings": lists(
            st.fixed_dictionaries(
                {
                    "id": small_ids,
                    "title": texts,
                    "count": st.integers(0, 5),
                    "percent": st.floats(0, 100),
                }
            )
        ),
    }
)

# (game id, updated minute, fetch number): unique, so "latest" is always well defined.
version_keys = st.lists(
    st.tuples(st.integers(1, 8), st.integers(0, 3), st.integers(0, 1)),
    min_size=1,
    max_size=14,
    unique=True,
)


@st.composite
def game_versions(draw: st.DrawFn) -> pl.DataFrame:
    """Raw rows (``raw.games`` shape) for several versions of a few games."""
    frames = []
    for game_id, minute, fetch in draw(version_keys):
        record = {"id": game_id, "updated": f"2024-01-01T00:0{minute}:00", **draw(game_body)}
        parsed = parse_games([record], sync_id="s", fetched_at=EPOCH + timedelta(days=fetch))
        frames.append(parsed.games)
    frame = pl.from_arrow(pa.concat_tables(frames))
    assert isinstance(frame, pl.DataFrame)
    return frame


def naturalised(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Tables with every surrogate key replaced by its natural id, rows sorted."""
    out = {}
    for name in STAR_TABLES:
        frame = tables[name]
        for dim in DIMENSIONS:
            if dim.key in frame.columns:
                if name == dim.table:
                    frame = frame.drop(dim.key)
                else:
                    keys = tables[dim.table].select(dim.key, dim.natural)
                    frame = frame.join(keys, on=dim.key, how="left").drop(dim.key)
        out[name] = frame.sort(frame.columns, nulls_last=True)
    return out


def latest_rows(versions: pl.DataFrame) -> pl.DataFrame:
    ordered = versions.sort(["id", "updated", "_fetched_at"], descending=True)
    return ordered.unique("id", keep="first").sort("id")


@SETTINGS
@given(game_versions())
def test_full_build_invariants(versions: pl.DataFrame) -> None:
    build = build_star(versions)
    tables = build.tables
    latest = latest_rows(versions)
    fact = tables["fact_games"].sort("game_id")
    assert fact.get_column("game_id").to_list() == latest.get_column("id").to_list()
    assert fact.get_column("updated").to_list() == latest.get_column("updated").to_list()
    assert fact.get_column("name").to_list() == latest.get_column("name").to_list()
    assert build.game_ids.to_list() == latest.get_column("id").to_list()
    failed = [r for r in run_checks(build.to_arrow(), expected_games=latest.height) if not r.passed]
    assert failed == []


@SETTINGS
@given(game_versions(), st.data())
def test_incremental_equals_full(versions: pl.DataFrame, data: st.DataObject) -> None:
    in_first = data.draw(
        st.lists(st.booleans(), min_size=versions.height, max_size=versions.height)
    )
    mask = pl.Series(in_first)
    first, second = versions.filter(mask), versions.filter(~mask)
    previous = build_star(first).tables
    changed = second.get_column("id").unique().implode()
    # The caller passes every raw version of the changed games.
    incremental = build_star(versions.filter(pl.col("id").is_in(changed)), previous)
    merged = merge_star(previous, incremental)
    full = build_star(versions).tables
    got, want = naturalised(merged), naturalised(full)
    for name in STAR_TABLES:
        assert_frame_equal(got[name], want[name])
    games = versions.get_column("id").n_unique()
    results = run_checks(star_to_arrow(merged), expected_games=games)
    assert [r for r in results if not r.passed] == []
    for dim in DIMENSIONS:
        old = previous[dim.table].select(dim.natural, dim.key)
        new = merged[dim.table].join(old, on=dim.natural, suffix="_old")
        assert new.get_column(dim.key).to_list() == new.get_column(f"{dim.key}_old").to_list()


@SETTINGS
@given(game_versions(), st.data())
def test_keys_are_stable_across_batches_in_any_order(
    versions: pl.DataFrame, data: st.DataObject
) -> None:
    order = data.draw(st.permutations(range(versions.height)))
    cuts = sorted(data.draw(st.lists(st.integers(0, versions.height), max_size=3)))
    bounds = [0, *cuts, versions.height]
    shuffled = versions[list(order)]
    tables: dict[str, pl.DataFrame] | None = None
    assigned: dict[str, dict[int, int]] = {d.table: {} for d in DIMENSIONS}
    for start, end in zip(bounds, bounds[1:], strict=False):
        tables = build_star(shuffled[start:end], tables).tables
        for dim in DIMENSIONS:
            frame = tables[dim.table]
            keys = dict(frame.select(dim.natural, dim.key).rows())
            for natural, key in assigned[dim.table].items():
                assert keys[natural] == key  # a member keeps its key forever
            assigned[dim.table] = keys
            # New keys continue from the maximum; none is ever reused or skipped.
            assert sorted(keys.values()) == list(range(1, len(keys) + 1))
