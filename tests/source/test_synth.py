"""Synthetic games: deterministic, and shaped like the real sample (data from RAWG)."""

from __future__ import annotations

from typing import Any

import pytest

from rawgwh.source.simulator import Simulator


@pytest.fixture(scope="module")
def games() -> list[dict[str, Any]]:
    return list(Simulator.synthetic(10_000, seed=1).records())


def test_same_seed_same_games() -> None:
    assert list(Simulator.synthetic(300, seed=5).records()) == list(
        Simulator.synthetic(300, seed=5).records()
    )
    assert list(Simulator.synthetic(300, seed=6).records()) != list(
        Simulator.synthetic(300, seed=5).records()
    )


def test_same_keys_and_nesting_as_real_records(
    games: list[dict[str, Any]], sample_records: list[dict[str, Any]]
) -> None:
    real = sample_records[0]
    for game in games[:500]:
        # community_rating is sometimes absent, as in the API
        assert set(game) | {"community_rating"} == set(real)
    first = next(g for g in games if g["platforms"] and g["stores"] and g["tags"])
    assert set(first["platforms"][0]) == set(real["platforms"][0])
    assert set(first["platforms"][0]["platform"]) == {"id", "name", "slug"}
    assert set(first["stores"][0]["store"]) >= set(real["stores"][0]["store"]) | {"domain"}
    assert set(first["tags"][0]) == set(real["tags"][0])
    assert set(first["parent_platforms"][0]) == {"platform"}
    rated = next(g for g in games if g["esrb_rating"])
    assert set(rated["esrb_rating"]) == {"id", "name", "slug", "name_en", "name_ru"}
    assert all(g["clip"] is None and g["user_game"] is None for g in games)
    assert any("community_rating" not in g for g in games)


def test_calibrated_on_the_contract(games: list[dict[str, Any]]) -> None:
    n = len(games)

    def mean(field: str) -> float:
        return sum(len(g[field] or []) for g in games) / n

    assert 4.5 < mean("tags") < 6.5
    assert 1.2 < mean("platforms") < 1.6
    assert 0.9 < mean("stores") < 1.3
    assert 1.1 < mean("genres") < 1.5
    assert 0.14 < sum(g["esrb_rating"] is not None for g in games) / n < 0.22
    assert 0.005 < sum(g["metacritic"] is not None for g in games) / n < 0.03
    assert 0.01 < sum(g["released"] is None for g in games) / n < 0.06
    assert len({p["platform"]["id"] for g in games for p in g["platforms"] or []}) == 28
    assert len({s["store"]["id"] for g in games for s in g["stores"] or []}) == 10
    assert len({x["id"] for g in games for x in g["genres"]}) == 19
    assert len({g["esrb_rating"]["id"] for g in games if g["esrb_rating"]}) == 5
    assert len({t["id"] for g in games for t in g["tags"]}) > 3000


def test_ids_dates_and_clock(games: list[dict[str, Any]]) -> None:
    sim = Simulator.synthetic(2_000, seed=2)
    ids = [g["id"] for g in games]
    assert len(set(ids)) == len(ids) and max(ids) > len(ids)  # unique, not contiguous
    years = [int(g["released"][:4]) for g in games if g["released"]]
    assert min(years) >= 1975 and max(years) <= 2030
    assert sum(y >= 2010 for y in years) > sum(y < 2010 for y in years)
    assert max(g["updated"] for g in sim.records()) <= sim.now
    for g in games[:200]:
        for p in g["platforms"] or []:
            assert p["released_at"] == g["released"]


def test_touch_moves_clock_forward() -> None:
    sim = Simulator.synthetic(100, seed=3)
    before = sim.now
    ids = sim.touch(3, seed=1) + sim.touch_ids([sim.touch(1, seed=2)[0]])
    after = {g["id"]: g["updated"] for g in sim.records()}
    stamps = [after[i] for i in ids[:3]]
    assert all(s > before for s in stamps) and len(set(stamps)) == 3
    assert sim.now == max(after.values())
