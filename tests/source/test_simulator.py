"""The RAWG simulator over real HTTP on loopback."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import rawgwh.source.simulator as simulator
from rawgwh.source.simulator import Faults, Simulator

KEY = "test-key"


@pytest.fixture(scope="module")
def sim() -> Simulator:
    """Read-only: tests that mutate build their own."""
    return Simulator.synthetic(400, seed=3)


@pytest.fixture(scope="module")
def served(sim: Simulator) -> Iterator[tuple[str, httpx.Client]]:
    with sim.serve(api_key=KEY) as base, httpx.Client(base_url=base) as client:
        yield base, client


def get(client: httpx.Client, **params: Any) -> httpx.Response:
    return client.get("/games", params={"key": KEY, **params})


def walk(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """Follow ``next`` from page 1 to the end."""
    out: list[dict[str, Any]] = []
    response = get(client, **params)
    while True:
        response.raise_for_status()
        body = orjson.loads(response.content)
        out.extend(body["results"])
        if body["next"] is None:
            return out
        response = client.get(body["next"])


def expected(records: list[dict[str, Any]], ordering: str | None, **filters: str) -> list[int]:
    """What RAWG should answer, computed the slow obvious way."""
    games = list(records)
    for facet, raw in filters.items():
        wanted = {int(x) for x in raw.split(",")}

        def has(g: dict[str, Any], facet: str = facet, wanted: set[int] = wanted) -> bool:
            inner = {"platforms": "platform", "stores": "store"}.get(facet)
            ids = {(x[inner] if inner else x)["id"] for x in g[facet] or []}
            return bool(ids & wanted)

        games = [g for g in games if has(g)]
    games.sort(key=lambda g: g["id"])
    if ordering and ordering.lstrip("-") != "created":
        field, desc = ordering.lstrip("-"), ordering.startswith("-")
        present = [g for g in games if g[field] is not None]
        nulls = [g for g in games if g[field] is None]
        present.sort(key=lambda g: g[field], reverse=desc)  # stable: ties stay by id
        games = nulls + present if desc else present + nulls
    elif ordering == "-created":
        games.reverse()
    return [g["id"] for g in games]


def test_public_api() -> None:
    assert set(simulator.__all__) >= {"Simulator", "Faults", "FaultKind", "run"}
    for name in simulator.__all__:
        assert getattr(simulator, name) is not None


def test_key_is_checked(served: tuple[str, httpx.Client]) -> None:
    _, client = served
    missing = client.get("/games")
    assert missing.status_code == 401
    assert missing.json() == {"error": "The key parameter is not provided"}
    wrong = client.get("/games", params={"key": "nope"})
    assert wrong.status_code == 401
    assert "error" in wrong.json()
    assert get(client).status_code == 200


def test_no_key_needed_without_api_key(sim: Simulator) -> None:
    with sim.serve() as base:
        assert httpx.get(f"{base}/games").status_code == 200


def test_headers_and_keep_alive(served: tuple[str, httpx.Client]) -> None:
    base, _ = served
    host, port = base.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port))) as s:
        f = s.makefile("rb")
        for page in (1, 2):
            s.sendall(b"GET /api/games?key=%s&page=%d HTTP/1.1\r\nHost: x\r\n\r\n" % (
                KEY.encode(), page))  # fmt: skip
            status = f.readline()
            headers = {}
            while (line := f.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            body = orjson.loads(f.read(int(headers["content-length"])))
            assert status.startswith(b"HTTP/1.1 200")
            assert headers["content-type"] == "application/json"
            assert headers["date"].endswith("GMT")
            assert len(body["results"]) == 20


def test_unknown_path_is_404(served: tuple[str, httpx.Client]) -> None:
    _, client = served
    response = client.get("/platforms", params={"key": KEY})
    assert response.status_code == 404
    assert response.json()["detail"]


def test_page_past_the_end(served: tuple[str, httpx.Client], sim: Simulator) -> None:
    _, client = served
    last = -(-len(sim) // 40)
    assert get(client, page=last, page_size=40).json()["next"] is None
    response = get(client, page=last + 1, page_size=40)
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}
    empty = get(client, dates="1900-01-01,1900-01-02")
    assert empty.status_code == 200
    assert empty.json() == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize(
    "params",
    [
        {"page": "0"},
        {"page": "abc"},
        {"page_size": "-3"},
        {"dates": "2015"},
        {"dates": "2015-13-01,2015-12-31"},
        {"dates": "2015-01-01T00:00:00,2015-12-31"},
        {"updated": "yesterday,today"},
        {"ordering": "popularity"},
        {"tags": "31,action"},
    ],
)
def test_bad_parameters_are_400(served: tuple[str, httpx.Client], params: dict[str, str]) -> None:
    _, client = served
    response = get(client, **params)
    assert response.status_code == 400
    assert response.json()["error"]


def test_page_size(served: tuple[str, httpx.Client]) -> None:
    _, client = served
    assert len(get(client).json()["results"]) == 20
    assert len(get(client, page_size=100).json()["results"]) == 40
    assert len(get(client, page_size=7).json()["results"]) == 7


def test_next_and_previous_carry_every_parameter(served: tuple[str, httpx.Client]) -> None:
    base, client = served
    params = {"page_size": 5, "ordering": "-released", "dates": "1990-01-01,2030-12-31"}
    first = get(client, **params).json()
    nxt = httpx.URL(first["next"])
    assert str(nxt).startswith(f"{base}/games?")
    assert dict(nxt.params) == {"key": KEY, **{k: str(v) for k, v in params.items()}, "page": "2"}
    second = client.get(first["next"]).json()
    # Like RAWG, the link back to page 1 has no page parameter.
    assert dict(httpx.URL(second["previous"]).params) == {"key": KEY} | {
        k: str(v) for k, v in params.items()
    }
    assert first["previous"] is None


@pytest.mark.parametrize(
    "ordering",
    [None, "created", "-created", "name", "-name", "released", "-released", "added", "-added",
     "updated", "-updated", "rating", "-rating", "metacritic", "-metacritic"],
)  # fmt: skip
def test_pagination_covers_every_game_once(
    served: tuple[str, httpx.Client], sim: Simulator, ordering: str | None
) -> None:
    _, client = served
    params = {"page_size": 40} | ({"ordering": ordering} if ordering else {})
    got = [g["id"] for g in walk(client, **params)]
    assert got == expected(list(sim.records()), ordering)


@pytest.mark.parametrize(
    "filters",
    [{"tags": "31"}, {"genres": "4,3"}, {"platforms": "4"}, {"stores": "1,9"},
     {"platforms": "18,187", "genres": "4"}],
)  # fmt: skip
def test_id_filters(
    served: tuple[str, httpx.Client], sim: Simulator, filters: dict[str, str]
) -> None:
    _, client = served
    got = [g["id"] for g in walk(client, page_size=40, ordering="-rating", **filters)]
    want = expected(list(sim.records()), "-rating", **filters)
    assert got == want
    assert 0 < len(got) < len(sim)


def test_nulls_sort_like_postgres(served: tuple[str, httpx.Client]) -> None:
    _, client = served
    asc = [g["released"] for g in walk(client, page_size=40, ordering="released")]
    desc = [g["released"] for g in walk(client, page_size=40, ordering="-released")]
    n_null = asc.count(None)
    assert n_null > 0
    assert asc[-n_null:] == [None] * n_null and None not in asc[:-n_null]
    assert desc[:n_null] == [None] * n_null and None not in desc[n_null:]


def test_dates_window_is_inclusive(served: tuple[str, httpx.Client], sim: Simulator) -> None:
    _, client = served
    days = sorted({g["released"] for g in sim.records() if g["released"]})
    lo, hi = days[10], days[30]
    got = {g["id"] for g in walk(client, page_size=40, dates=f"{lo},{hi}")}
    want = {g["id"] for g in sim.records() if g["released"] and lo <= g["released"] <= hi}
    assert got == want
    one = {g["id"] for g in walk(client, page_size=40, dates=f"{lo},{lo}")}
    assert one == {g["id"] for g in sim.records() if g["released"] == lo}


def test_updated_window(served: tuple[str, httpx.Client], sim: Simulator) -> None:
    _, client = served
    stamps = sorted({g["updated"] for g in sim.records()})
    lo, hi = stamps[5], stamps[60]
    got = {g["id"] for g in walk(client, page_size=40, updated=f"{lo},{hi}")}
    assert got == {g["id"] for g in sim.records() if lo <= g["updated"] <= hi}
    day = hi[:10]  # a bare date as the upper bound takes the whole day
    got = {g["id"] for g in walk(client, page_size=40, updated=f"{lo},{day}")}
    assert got == {g["id"] for g in sim.records() if lo <= g["updated"] <= f"{day}T23:59:59"}


def test_from_file_serves_the_sample_exactly(
    sample_path: Path, sample_records: list[dict[str, Any]]
) -> None:
    sim = Simulator.from_file(sample_path)
    assert len(sim) == len(sample_records)
    with sim.serve() as base, httpx.Client(base_url=base) as client:
        served = walk(client, page_size=40, ordering="-updated")
        assert get(client, ordering="created").json()["count"] == len(sample_records)
    assert sorted(served, key=lambda g: g["id"]) == sorted(sample_records, key=lambda g: g["id"])
    assert [g["updated"] for g in served] == sorted((g["updated"] for g in served), reverse=True)


def test_mutations_are_served() -> None:
    sim = Simulator.synthetic(200, seed=4)
    before = {g["id"]: g for g in sim.records()}
    latest = max(g["updated"] for g in before.values())
    with sim.serve() as base, httpx.Client(base_url=base) as client:
        touched = sim.touch(5, seed=1)
        assert len(set(touched)) == 5
        window = f"{latest[:10]}T{latest[11:]},{sim.now}"
        fresh = walk(client, updated=window, ordering="updated")
        assert {g["id"] for g in fresh} >= set(touched)
        for g in fresh:
            if g["id"] in touched:
                assert g["updated"] > latest
                assert g != before[g["id"]]
        added = sim.add(3)
        deleted = list(before)[:4]
        sim.delete(deleted)
        ids = {g["id"] for g in walk(client, page_size=40)}
    assert set(added) <= ids and not set(deleted) & ids
    assert len(sim) == 200 + 3 - 4
    assert ids == {g["id"] for g in sim.records()}


def test_stats(sim: Simulator) -> None:
    with sim.serve() as base, httpx.Client(base_url=base) as client:
        sim.stats.reset()
        walk(client, page_size=40, ordering="name")
        client.get("/games", params={"page": 999})
    assert sim.stats.requests == -(-len(sim) // 40) + 1
    assert sim.stats.by_status == {200: sim.stats.requests - 1, 404: 1}
    assert sim.stats.by_query["ordering=name&page_size=40"] == sim.stats.requests - 1
    sim.stats.reset()
    assert sim.stats.requests == 0 and not sim.stats.by_status


def test_only_loopback(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="loopback"), sim.serve(host="0.0.0.0"):
        pass


# -- faults -------------------------------------------------------------------------------


def faulty(faults: Faults, n: int = 50) -> tuple[Simulator, Any]:
    sim = Simulator.synthetic(n, seed=9)
    return sim, sim.serve(faults=faults)


def test_scripted_429_then_success() -> None:
    sim, serving = faulty(Faults(fail_first={"429": 2}, retry_after=1))
    with serving as base, httpx.Client(base_url=base) as client:
        first, second, third = (client.get("/games") for _ in range(3))
    assert first.status_code == second.status_code == 429
    assert first.headers["retry-after"] == "1"
    assert third.status_code == 200
    assert sim.stats.by_status == {429: 2, 200: 1}
    assert sim.stats.by_fault == {"429": 2}


def test_server_errors() -> None:
    _, serving = faulty(Faults(fail_first={"5xx": 6}, seed=2))
    with serving as base, httpx.Client(base_url=base) as client:
        replies = [client.get("/games") for _ in range(6)]
    assert {r.status_code for r in replies} <= {500, 502, 503}
    kinds = {r.headers["content-type"].split(";")[0] for r in replies}
    assert kinds <= {"application/json", "text/html"}


def test_slow() -> None:
    _, serving = faulty(Faults(fail_first={"slow": 1}, slow_seconds=0.1))
    with serving as base, httpx.Client(base_url=base) as client:
        started = time.perf_counter()
        assert client.get("/games").status_code == 200
        assert time.perf_counter() - started >= 0.1


def test_move_and_vanish() -> None:
    sim, serving = faulty(Faults(fail_first={"move": 1, "vanish": 1}))
    old_max = max(g["updated"] for g in sim.records())
    with serving as base, httpx.Client(base_url=base) as client:
        moved = client.get("/games", params={"ordering": "-updated"}).json()
        assert moved["count"] == 50
        assert moved["results"][0]["updated"] > old_max  # the touched game jumped to the top
        assert client.get("/games").json()["count"] == 49
    assert len(sim) == 49


def test_broken_bodies() -> None:
    kinds = {"truncated": 1, "bad_json": 1, "html": 1}
    _, serving = faulty(Faults(fail_first=kinds))
    with serving as base, httpx.Client(base_url=base) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/games")
        bad = client.get("/games")
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(bad.content)
        html = client.get("/games")
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")


def test_damaged_records() -> None:
    sim, serving = faulty(Faults(fail_first={"duplicate": 1, "wrong_type": 1, "odd_text": 1}))
    clean = {g["id"]: g for g in sim.records()}
    with serving as base, httpx.Client(base_url=base) as client:
        dup = client.get("/games", params={"page_size": 10}).json()["results"]
        wrong = client.get("/games", params={"page_size": 10}).json()["results"]
        odd = client.get("/games", params={"page_size": 10}).json()["results"]
    assert len(dup) == 11 and len({g["id"] for g in dup}) == 10
    assert sum(1 for g in wrong if clean.get(g["id"]) != g) == 1
    assert sum(1 for g in odd if clean[g["id"]]["name"] != g["name"]) == 1


def test_random_faults_are_deterministic() -> None:
    def statuses() -> list[int]:
        faults = Faults(rate=0.5, kinds={"429", "5xx", "html"}, seed=7)
        _, serving = faulty(faults)
        with serving as base, httpx.Client(base_url=base) as client:
            return [client.get("/games").status_code for _ in range(30)]

    first = statuses()
    assert first == statuses()
    assert 200 in first and 429 in first


def test_fault_config_is_validated() -> None:
    with pytest.raises(ValueError):
        Faults(kinds={"teapot"})
    with pytest.raises(ValueError):
        Faults(rate=2)


def test_all_faults_are_survivable() -> None:
    kinds = Faults.all(rate=0.2).kinds
    assert {"429", "5xx", "slow", "move", "truncated", "duplicate"} <= set(kinds)
    assert not {"vanish", "wrong_type", "odd_text"} & set(kinds)
