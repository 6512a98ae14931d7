"""Raw writer properties: page order does not matter; applying pages again adds nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from rawgwh.raw.state import RunState
from rawgwh.raw.writer import BatchWriter
from rawgwh.source.extract import PagesFetched, WindowDone

NOW = datetime(2026, 1, 1)

versions = st.builds(
    lambda game_id, day, rating: {
        "id": game_id,
        "updated": f"2024-01-{day:02d}T00:00:00",
        "name": f"game {game_id}",
        "rating": rating,
    },
    st.integers(1, 40),
    st.integers(1, 28),
    st.floats(0, 5, allow_nan=False),
)
pages = st.lists(st.lists(versions, max_size=12), min_size=1, max_size=8)


def writer(known: pl.DataFrame | None = None, batch: int = 1_000) -> BatchWriter:
    return BatchWriter(
        run=RunState(id="s", mode="backfill", started=""),
        known=known if known is not None else _no_keys(),
        fetched_at=NOW,
        batch_games=batch,
    )


def _no_keys() -> pl.DataFrame:
    return pl.DataFrame(schema={"id": pl.Int64, "updated": pl.Datetime("us")})


def feed(w: BatchWriter, page_list: list[list[dict[str, Any]]]) -> set[tuple[int, Any]]:
    stored: set[tuple[int, Any]] = set()
    for number, results in enumerate(page_list, start=1):
        w.apply(PagesFetched("dates:2024-01-01:2024-12-31", number, results, None))
        if w.full:
            stored |= _keys(w.take().games)
    w.apply(WindowDone("dates:2024-01-01:2024-12-31"))
    return stored | _keys(w.take().games)


def _keys(games: Any) -> set[tuple[int, Any]]:
    return set(
        zip(games.column("id").to_pylist(), games.column("updated").to_pylist(), strict=True)
    )


@settings(max_examples=60, deadline=None)
@given(pages, st.randoms(use_true_random=False), st.integers(1, 30))
def test_page_order_and_batching_do_not_change_what_is_stored(
    page_list: list[list[dict[str, Any]]], rng: Any, batch: int
) -> None:
    expected = {(r["id"], datetime.fromisoformat(r["updated"])) for p in page_list for r in p}
    shuffled = list(page_list)
    rng.shuffle(shuffled)
    stored_a = feed(writer(), page_list)
    stored_b = feed(writer(batch=batch), shuffled)
    assert stored_a == stored_b == expected


@settings(max_examples=40, deadline=None)
@given(pages)
def test_applying_the_same_pages_again_stores_nothing_new(
    page_list: list[list[dict[str, Any]]],
) -> None:
    w = writer()
    first = feed(w, page_list)
    again = feed(w, page_list)  # the same writer remembers what it stored
    assert again == set()
    known = pl.DataFrame(
        [(i, u) for i, u in first],
        schema={"id": pl.Int64, "updated": pl.Datetime("us")},
        orient="row",
    )
    assert feed(writer(known=known), page_list) == set()  # a new run, keys read from the zone
