"""Splitting release-date windows by the sample in hand, against the simulator on loopback.

Each catalogue is walked twice by the real extractor over HTTP: by samples (the default) and
with samples ignored (``sampled=False``: equal spans all the way down, as before samples were
used). The simulator counts the requests.
"""

from __future__ import annotations

import asyncio
import gzip
import math
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from rawgwh.source.client import RawgClient
from rawgwh.source.extract import Event, Extractor, ExtractStats, PagesFetched, WindowCounted
from rawgwh.source.simulator import Simulator
from rawgwh.source.windows import (
    DEFAULT_FIRST_DATE,
    DEFAULT_LAST_DATE,
    TARGET_SHARE,
    DateWindow,
    UndatedWindow,
)

LIMIT = 300
PAGE = 40


def catalogue(path: Path, *, games: int, seed: int, created_by_release: bool) -> Path:
    """Games released in 2014-2016 (3% undated), as a ``.jsonl.gz`` the simulator serves.

    The simulator creates games in id order, so ids decide what a window's first page (the
    earliest created) holds: ids at random make it a fair sample of release dates; ids in
    release order make it the worst sample, the window's oldest games.
    """
    rng = random.Random(seed)
    first = date(2014, 1, 1)
    released: list[date | None] = [
        None if rng.random() < 0.03 else first + timedelta(days=int(rng.triangular(0, 1095, 700)))
        for _ in range(games)
    ]
    if created_by_release:
        released.sort(key=lambda d: (d is not None, d or first))
    lines = [
        orjson.dumps(
            {
                "id": i + 1,
                "name": f"Game {i + 1}",
                "released": day.isoformat() if day else None,
                "updated": "2020-01-01T00:00:00",
            }
        )
        for i, day in enumerate(released)
    ]
    with gzip.open(path, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    return path


def walk(sim: Simulator, window: DateWindow) -> tuple[int, set[int], ExtractStats, int]:
    """Requests, game ids, stats and empty windows of a backfill of ``window`` plus the
    undated games."""
    ids: set[int] = set()
    empty = 0

    async def emit(event: Event) -> None:
        nonlocal empty
        if isinstance(event, PagesFetched):
            ids.update(r["id"] for r in event.results)
        elif isinstance(event, WindowCounted) and event.count == 0:
            empty += 1

    async def go() -> ExtractStats:
        with sim.serve(port=0) as url:
            async with RawgClient(base_url=url, api_key=None, page_size=PAGE) as client:
                stats = ExtractStats()
                extractor = Extractor(client, emit, window_limit=LIMIT, stats=stats)
                await extractor.run([window, UndatedWindow()], {})
                return stats

    sim.stats.reset()
    stats = asyncio.run(go())
    return sim.stats.requests, ids, stats, empty


def split_both_ways(path: Path) -> tuple[Simulator, dict[str, Any]]:
    sim = Simulator.from_file(path)
    top = (DEFAULT_FIRST_DATE, DEFAULT_LAST_DATE)
    runs = {
        "sampled": walk(sim, DateWindow(*top)),
        "even": walk(sim, DateWindow(*top, sampled=False)),
    }
    everyone = {r["id"] for r in sim.records()}
    for requests, ids, *_ in runs.values():
        assert ids == everyone  # every game, whichever way the windows were cut
        assert requests > 0
    return sim, runs


@pytest.mark.parametrize("seed", [1, 2])
def test_clustered_catalogue_costs_about_its_pages(tmp_path: Path, seed: int) -> None:
    path = catalogue(tmp_path / "games.jsonl.gz", games=6_000, seed=seed, created_by_release=False)
    sim, runs = split_both_ways(path)
    dated = sum(1 for r in sim.records() if r["released"])
    undated = len(sim) - dated
    pages = math.ceil(dated / PAGE) + math.ceil(undated / PAGE)
    # Beyond the pages themselves: up to one partly filled last page per leaf window (about
    # dated / (share * limit) of them), the first page of a few windows that were split, and
    # the undated walk's page with the first dated games.
    leaves = math.ceil(dated / (TARGET_SHARE * LIMIT))
    requests, _, stats, empty = runs["sampled"]
    assert requests <= pages + leaves + 10, (requests, pages, leaves)
    # Every child of a split holds a game of its parent's first page: none is empty.
    assert empty == 0
    assert stats.windows_seen <= 2 * leaves
    # Equal spans pay for every empty decade of 1900-2099 and for children still too large.
    even, _, even_stats, even_empty = runs["even"]
    assert even_empty > 20 and even_stats.windows_seen > 2 * leaves
    assert requests < even - 40, (requests, even)


def test_worst_sample_costs_little_more_than_equal_spans(tmp_path: Path) -> None:
    """When a window's earliest-created games are its oldest, its first page says nothing of
    where the rest lie: a child far fuller than expected is split evenly from then on."""
    path = catalogue(tmp_path / "games.jsonl.gz", games=6_000, seed=3, created_by_release=True)
    _, runs = split_both_ways(path)
    requests, even = runs["sampled"][0], runs["even"][0]
    assert requests <= even * 1.05, (requests, even)
