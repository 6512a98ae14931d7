"""A small synthetic star, written as real Parquet files into a warehouse-like folder."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rawgwh.model.schema import STAR_SCHEMAS
from rawgwh.query import QueryEngine

SEEN = dt.datetime(2025, 1, 1)
_DIMS: dict[str, list[tuple[str, ...]]] = {
    "dim_platform": [("PC",), ("PlayStation 4",), ("Xbox One",), ("Nintendo Switch",), ("iOS",)],
    "dim_parent_platform": [("PC",), ("PlayStation",), ("Xbox",), ("Nintendo",), ("iOS",)],
    "dim_store": [("Steam",), ("GOG",), ("PlayStation Store",), ("Xbox Store",), ("App Store",)],
    "dim_genre": [("Action",), ("Indie",), ("RPG",), ("Puzzle",), ("Strategy",)],
    "dim_tag": [
        ("Singleplayer", "eng"),
        ("Multiplayer", "eng"),
        ("2D", "eng"),
        ("Atmospheric", "eng"),
        ("Story Rich", "eng"),
        ("Инди", "rus"),
    ],
    "dim_esrb_rating": [("Everyone",), ("Teen",), ("Mature",)],
}
_BRIDGE_OF = {
    "dim_platform": "bridge_game_platform",
    "dim_parent_platform": "bridge_game_parent_platform",
    "dim_store": "bridge_game_store",
    "dim_genre": "bridge_game_genre",
    "dim_tag": "bridge_game_tag",
}
RATINGS = [(5, "exceptional"), (4, "recommended"), (3, "meh"), (1, "skip")]


def _dimension(table: str, members: list[tuple[str, ...]]) -> list[dict[str, Any]]:
    prefix = table.removeprefix("dim_")
    rows = []
    for i, (name, *rest) in enumerate(members, start=1):
        slug = name.lower().replace(" ", "-")
        rows.append(
            {
                f"{prefix}_key": i,
                f"{prefix}_id": 100 + i,
                "name": name,
                "slug": slug,
                "domain": f"{slug}.example",
                "language": rest[0] if rest else None,
                "games_count": 10 * i,
                "name_en": name,
                "name_ru": name,
                "source_updated": SEEN,
            }
        )
    return rows


def _dates(first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    days = []
    day = first
    while day <= last:
        iso = day.isocalendar()
        days.append(
            {
                "date_key": day.year * 10_000 + day.month * 100 + day.day,
                "date": day,
                "year": day.year,
                "quarter": (day.month - 1) // 3 + 1,
                "month": day.month,
                "day": day.day,
                "weekday": iso.weekday,
                "day_name": day.strftime("%A"),
                "month_name": day.strftime("%B"),
                "iso_week": iso.week,
                "iso_year": iso.year,
                "is_weekend": iso.weekday >= 6,
            }
        )
        day += dt.timedelta(days=1)
    return days


def synthetic_star(games: int = 240, seed: int = 7) -> dict[str, pa.Table]:
    """Every star table, with the model's schemas, for ``games`` made-up games."""
    rnd = random.Random(seed)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in STAR_SCHEMAS}
    for table, members in _DIMS.items():
        rows[table] = _dimension(table, members)
    first, last = dt.date(2014, 1, 1), dt.date(2016, 12, 31)
    for game_id in range(1, games + 1):
        released = None if game_id % 17 == 0 else first + dt.timedelta(rnd.randrange(1096))
        picked = {
            t: sorted(rnd.sample(range(1, len(m) + 1), rnd.randint(1, min(3, len(m)))))
            for t, m in _DIMS.items()
            if t in _BRIDGE_OF
        }
        rated = rnd.random() < 0.8
        votes = rnd.randint(1, 400) if rated else 0
        added = rnd.randint(0, 20_000)
        rows["fact_games"].append(
            {
                "game_id": game_id,
                "name": f"Game [{game_id}]",
                "slug": f"game-{game_id}",
                "released": released,
                "tba": released is None,
                "updated": SEEN,
                "rating": round(rnd.uniform(1, 5), 2) if rated else 0.0,
                "rating_top": rnd.choice([1, 3, 4, 5]) if rated else 0,
                "ratings_count": votes,
                "reviews_count": votes,
                "reviews_text_count": votes // 10,
                "added": added,
                **{f"added_{s}": added // 6 for s in ("yet", "owned", "beaten", "toplay")},
                "added_dropped": added // 12,
                "added_playing": added // 24,
                "metacritic": rnd.randint(40, 97) if rnd.random() < 0.5 else None,
                "playtime": rnd.choice([0, 0, 2, 5, 12, 40]),
                "suggestions_count": rnd.randint(0, 500),
                "community_rating": 0.0,
                "saturated_color": "0f0f0f",
                "dominant_color": "0f0f0f",
                "background_image": f"https://media.example/{game_id}.jpg",
                "released_date_key": (
                    None
                    if released is None
                    else released.year * 10_000 + released.month * 100 + released.day
                ),
                "esrb_rating_key": rnd.choice([None, 1, 2, 3]),
                "release_year": None if released is None else released.year,
                **{f"{t.removeprefix('dim_')}_count": len(keys) for t, keys in picked.items()},
            }
        )
        for table, keys in picked.items():
            key = f"{table.removeprefix('dim_')}_key"
            for k in keys:
                rows[_BRIDGE_OF[table]].append(
                    {"game_id": game_id, key: k, "released_at": released, "store_entry_id": k}
                )
        if rated:
            split = [rnd.randint(0, 50) for _ in RATINGS]
            for (rating_id, title), count in zip(RATINGS, split, strict=True):
                rows["fact_game_ratings"].append(
                    {
                        "game_id": game_id,
                        "rating_id": rating_id,
                        "title": title,
                        "count": count,
                        "percent": round(100 * count / max(sum(split), 1), 2),
                    }
                )
    rows["dim_date"] = _dates(first, last)
    return {
        name: pa.Table.from_pylist(
            [{k: r.get(k) for k in schema.names} for r in rows[name]], schema=schema
        )
        for name, schema in STAR_SCHEMAS.items()
    }


def write_tables(
    tables: Mapping[str, pa.Table], root: Path, *, files_per_table: int = 2
) -> dict[str, list[str]]:
    """Write each table as up to ``files_per_table`` Parquet files, Iceberg-style folders."""
    locations: dict[str, list[str]] = {}
    for name, table in tables.items():
        folder = root / "rawg" / name / "data"
        folder.mkdir(parents=True, exist_ok=True)
        step = max(1, -(-table.num_rows // files_per_table))
        paths = []
        for i, start in enumerate(range(0, table.num_rows, step)):
            path = folder / f"{i:05d}-part.parquet"
            pq.write_table(table.slice(start, step), path)
            paths.append(str(path))
        locations[name] = paths
    return locations


@dataclass(frozen=True)
class Warehouse:
    root: Path
    tables: dict[str, list[str]]
    arrow: dict[str, pa.Table]

    def engine(self) -> QueryEngine:
        return QueryEngine(self.tables, schemas=STAR_SCHEMAS, allowed_roots=[str(self.root)])


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The synthetic star in ``<tmp>/warehouse``; tests must not change it."""
    root = tmp_path_factory.mktemp("query") / "warehouse"
    star = synthetic_star()
    return Warehouse(root, write_tables(star, root), star)


@pytest.fixture
def engine(warehouse: Warehouse) -> Iterator[QueryEngine]:
    with warehouse.engine() as e:
        yield e


@pytest.fixture
def write_parquet() -> Callable[..., dict[str, list[str]]]:
    """``write_tables(tables, root, files_per_table=2)``: table name -> Parquet paths."""
    return write_tables


@pytest.fixture(scope="session")
def sample_warehouse(
    tmp_path_factory: pytest.TempPathFactory, sample_records: list[dict[str, Any]]
) -> Warehouse:
    """The star the model builds from the 10,000 real games of 2015, as Parquet files."""
    import polars as pl

    from rawgwh.model import build_star
    from rawgwh.raw import parse_games

    parsed = parse_games(sample_records, sync_id="sample", fetched_at=SEEN)
    games = pl.from_arrow(parsed.games)
    assert isinstance(games, pl.DataFrame)
    star = build_star(games).to_arrow()
    root = tmp_path_factory.mktemp("sample") / "warehouse"
    return Warehouse(root, write_tables(star, root, files_per_table=3), star)
