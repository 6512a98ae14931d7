"""BASELINE, not product code: the hand-built pandas star-schema pipeline rawgwh replaces.

    python -m benchmarks.baselines.pandas_pipeline --out DIR FILE.parquet [FILE ...]
    python -m benchmarks.baselines.pandas_pipeline --out DIR --files-from LIST

It is written the way such pipelines usually are (issue 5, item 1), so the comparison
shows what rawgwh saves a user, not a straw man:

- the raw Parquet files are read with pandas (only the columns the model needs) and
  deduplicated to the latest version of each game (greatest ``updated``);
- each dimension is a Python loop over ``DataFrame.iterrows()`` collecting dicts, then
  ``drop_duplicates`` on the natural key and a fresh 1..n surrogate key, every run;
- each bridge is another row loop, looking surrogate keys up in a natural -> key dict;
- the fact is a row loop with per-value int/float coercion;
- ``dim_date`` is generated for fixed years (1970-2030);
- every table is written with ``DataFrame.to_parquet``.

It builds the same 15 tables as rawgwh's model. Differences, by design of a baseline:
dimensions come from the latest versions only (rawgwh keeps members seen in any version),
attributes come from the first row seen (rawgwh: the newest version), keys are numbered in
order of appearance and are not stable across runs, and there is no validation, no
Iceberg commit and no incremental mode.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["COLUMNS", "DATE_YEARS", "build_tables", "read_latest", "run", "write_tables"]

# The raw columns rawgwh's model reads (rawgwh.model.INPUT_COLUMNS), copied rather than
# imported: importing rawgwh.model would load Polars into the baseline's measured process.
# tests/benchmarks/test_compare_model.py keeps the two equal.
COLUMNS = [
    "id",
    "slug",
    "name",
    "released",
    "tba",
    "updated",
    "rating",
    "rating_top",
    "ratings_count",
    "reviews_count",
    "reviews_text_count",
    "added",
    "added_by_status",
    "metacritic",
    "playtime",
    "suggestions_count",
    "community_rating",
    "background_image",
    "saturated_color",
    "dominant_color",
    "esrb_rating",
    "platforms",
    "parent_platforms",
    "genres",
    "stores",
    "tags",
    "ratings",
    "_fetched_at",
]
DATE_YEARS = (1970, 2030)
STATUSES = ("yet", "owned", "beaten", "toplay", "dropped", "playing")
INT_FIELDS = (
    "rating_top",
    "ratings_count",
    "reviews_count",
    "reviews_text_count",
    "added",
    "metacritic",
    "playtime",
    "suggestions_count",
)
FLOAT_FIELDS = ("rating", "community_rating")
TEXT_FIELDS = ("name", "slug", "saturated_color", "dominant_color", "background_image")


@dataclass(frozen=True)
class ListDim:
    """A dimension whose members sit in a list column of the game."""

    table: str
    key: str
    natural: str
    column: str
    path: tuple[str, ...]  # from a list entry down to the member dict
    attributes: tuple[str, ...]
    bridge: str
    extra: str | None = None  # the bridge's extra column, kept at its minimum per pair


LIST_DIMS = (
    ListDim(
        "dim_platform",
        "platform_key",
        "platform_id",
        "platforms",
        ("platform",),
        ("name", "slug"),
        "bridge_game_platform",
        "released_at",
    ),
    ListDim(
        "dim_parent_platform",
        "parent_platform_key",
        "parent_platform_id",
        "parent_platforms",
        ("platform",),
        ("name", "slug"),
        "bridge_game_parent_platform",
    ),
    ListDim(
        "dim_store",
        "store_key",
        "store_id",
        "stores",
        ("store",),
        ("name", "slug", "domain"),
        "bridge_game_store",
        "store_entry_id",
    ),
    ListDim(
        "dim_genre",
        "genre_key",
        "genre_id",
        "genres",
        (),
        ("name", "slug", "games_count"),
        "bridge_game_genre",
    ),
    ListDim(
        "dim_tag",
        "tag_key",
        "tag_id",
        "tags",
        (),
        ("name", "slug", "language", "games_count"),
        "bridge_game_tag",
    ),
)
ESRB_ATTRIBUTES = ("name", "slug", "name_en", "name_ru")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def _int(value: Any) -> int | None:
    return None if _missing(value) else int(value)


def _float(value: Any) -> float | None:
    return None if _missing(value) else float(value)


def _text(value: Any) -> str | None:
    return None if _missing(value) else str(value)


def _entries(value: Any) -> Iterable[Any]:
    return () if _missing(value) else value


def _member(entry: Any, path: Sequence[str]) -> dict[str, Any] | None:
    member = entry
    for name in path:
        if member is None:
            return None
        member = member.get(name)
    if member is None or _missing(member.get("id")):
        return None
    return dict(member)


def _day(text: Any) -> date | None:
    if _missing(text):
        return None
    try:
        return datetime.strptime(str(text), "%Y-%m-%d").date()
    except ValueError:
        return None


def _date_key(day: date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


def read_latest(paths: Sequence[Path | str]) -> pd.DataFrame:
    """Every raw file, then one row per game: its version with the greatest ``updated``."""
    raw = pd.concat([pd.read_parquet(p, columns=COLUMNS) for p in paths], ignore_index=True)
    raw = raw.sort_values(["id", "updated", "_fetched_at"], kind="stable")
    return raw.drop_duplicates("id", keep="last").reset_index(drop=True)


def _keyed(rows: list[dict[str, Any]], key: str, natural: str, columns: list[str]) -> pd.DataFrame:
    """``drop_duplicates`` on the natural key, then a fresh 1..n surrogate key."""
    frame = pd.DataFrame(rows, columns=columns).drop_duplicates(natural).reset_index(drop=True)
    frame.insert(0, key, range(1, len(frame) + 1))
    return frame


def list_dimension(games: pd.DataFrame, dim: ListDim) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for _, game in games.iterrows():
        for entry in _entries(game[dim.column]):
            member = _member(entry, dim.path)
            if member is None:
                continue
            row: dict[str, Any] = {dim.natural: int(member["id"])}
            for attribute in dim.attributes:
                row[attribute] = member.get(attribute)
            rows.append(row)
    return _keyed(rows, dim.key, dim.natural, [dim.natural, *dim.attributes])


def esrb_dimension(games: pd.DataFrame) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for _, game in games.iterrows():
        rating = game["esrb_rating"]
        if _missing(rating) or _missing(rating.get("id")):
            continue
        row: dict[str, Any] = {"esrb_rating_id": int(rating["id"])}
        for attribute in ESRB_ATTRIBUTES:
            row[attribute] = rating.get(attribute)
        rows.append(row)
    columns = ["esrb_rating_id", *ESRB_ATTRIBUTES]
    return _keyed(rows, "esrb_rating_key", "esrb_rating_id", columns)


def date_dimension(first_year: int = DATE_YEARS[0], last_year: int = DATE_YEARS[1]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    day, end = date(first_year, 1, 1), date(last_year, 12, 31)
    while day <= end:
        iso = day.isocalendar()
        rows.append(
            {
                "date_key": _date_key(day),
                "date": day,
                "year": day.year,
                "quarter": (day.month - 1) // 3 + 1,
                "month": day.month,
                "day": day.day,
                "weekday": day.isoweekday(),
                "day_name": day.strftime("%A"),
                "month_name": day.strftime("%B"),
                "iso_week": iso.week,
                "iso_year": iso.year,
                "is_weekend": day.isoweekday() >= 6,
            }
        )
        day += timedelta(days=1)
    return pd.DataFrame(rows)


def bridge(games: pd.DataFrame, dim: ListDim, dimension: pd.DataFrame) -> pd.DataFrame:
    keys = dict(zip(dimension[dim.natural], dimension[dim.key], strict=True))
    rows: list[dict[str, Any]] = []
    for _, game in games.iterrows():
        game_id = int(game["id"])
        for entry in _entries(game[dim.column]):
            member = _member(entry, dim.path)
            if member is None:
                continue
            row: dict[str, Any] = {"game_id": game_id, dim.key: keys[int(member["id"])]}
            if dim.extra == "released_at":
                row["released_at"] = _day(entry.get("released_at"))
            elif dim.extra == "store_entry_id":
                row["store_entry_id"] = _int(entry.get("id"))
            rows.append(row)
    columns = ["game_id", dim.key, *([dim.extra] if dim.extra else [])]
    frame = pd.DataFrame(rows, columns=columns)
    if dim.extra:  # a member listed twice in a game: keep the smallest extra
        frame = frame.sort_values(columns, na_position="last", kind="stable")
    frame = frame.drop_duplicates(["game_id", dim.key]).reset_index(drop=True)
    if dim.extra == "store_entry_id":
        frame["store_entry_id"] = frame["store_entry_id"].astype("Int64")
    return frame


def ratings(games: pd.DataFrame) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for _, game in games.iterrows():
        game_id = int(game["id"])
        for entry in _entries(game["ratings"]):
            if entry is None or _missing(entry.get("id")):
                continue
            rows.append(
                {
                    "game_id": game_id,
                    "rating_id": int(entry["id"]),
                    "title": _text(entry.get("title")),
                    "count": _int(entry.get("count")),
                    "percent": _float(entry.get("percent")),
                }
            )
    frame = pd.DataFrame(rows, columns=["game_id", "rating_id", "title", "count", "percent"])
    frame = frame.drop_duplicates(["game_id", "rating_id"]).reset_index(drop=True)
    frame["count"] = frame["count"].astype("Int64")
    return frame


def _distinct_members(value: Any, path: Sequence[str]) -> int:
    ids = set()
    for entry in _entries(value):
        member = _member(entry, path)
        if member is not None:
            ids.add(int(member["id"]))
    return len(ids)


def fact_games(games: pd.DataFrame, esrb: pd.DataFrame) -> pd.DataFrame:
    esrb_keys = dict(zip(esrb["esrb_rating_id"], esrb["esrb_rating_key"], strict=True))
    rows: list[dict[str, Any]] = []
    for _, game in games.iterrows():
        row: dict[str, Any] = {"game_id": int(game["id"])}
        for name in TEXT_FIELDS:
            row[name] = _text(game[name])
        released = None if _missing(game["released"]) else game["released"]
        row["released"] = released
        row["tba"] = None if _missing(game["tba"]) else bool(game["tba"])
        row["updated"] = game["updated"]
        for name in INT_FIELDS:
            row[name] = _int(game[name])
        for name in FLOAT_FIELDS:
            row[name] = _float(game[name])
        status = game["added_by_status"]
        for s in STATUSES:
            row[f"added_{s}"] = None if _missing(status) else _int(status.get(s))
        rating = game["esrb_rating"]
        rating_id = None if _missing(rating) else _int(rating.get("id"))
        row["esrb_rating_key"] = None if rating_id is None else esrb_keys[rating_id]
        row["released_date_key"] = None if released is None else _date_key(released)
        row["release_year"] = None if released is None else released.year
        for dim in LIST_DIMS:
            name = dim.table.removeprefix("dim_") + "_count"
            row[name] = _distinct_members(game[dim.column], dim.path)
        rows.append(row)
    frame = pd.DataFrame(rows)
    nullable = [*INT_FIELDS, *(f"added_{s}" for s in STATUSES)]
    nullable += ["esrb_rating_key", "released_date_key", "release_year"]
    return frame.astype({name: "Int64" for name in nullable})


def build_tables(games: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The 14 star tables from the latest game versions."""
    tables: dict[str, pd.DataFrame] = {}
    for dim in LIST_DIMS:
        tables[dim.table] = list_dimension(games, dim)
    tables["dim_esrb_rating"] = esrb_dimension(games)
    tables["dim_date"] = date_dimension()
    tables["fact_games"] = fact_games(games, tables["dim_esrb_rating"])
    for dim in LIST_DIMS:
        tables[dim.bridge] = bridge(games, dim, tables[dim.table])
    tables["fact_game_ratings"] = ratings(games)
    return tables


def write_tables(tables: dict[str, pd.DataFrame], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_parquet(out / f"{name}.parquet", index=False)


def run(paths: Sequence[Path | str], out: Path) -> dict[str, Any]:
    """Read, transform, write; row counts and stage times."""
    started = time.perf_counter()
    games = read_latest(paths)
    read = time.perf_counter()
    tables = build_tables(games)
    built = time.perf_counter()
    write_tables(tables, out)
    done = time.perf_counter()
    return {
        "games": len(games),
        "rows": {name: len(frame) for name, frame in tables.items()},
        "timings": {
            "read": round(read - started, 3),
            "build": round(built - read, 3),
            "write": round(done - built, 3),
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="raw Parquet files")
    parser.add_argument("--files-from", type=Path, help="a file listing raw Parquet files")
    parser.add_argument("--out", type=Path, required=True, help="folder for the star tables")
    parser.add_argument("--summary", type=Path, help="write row counts and timings here (JSON)")
    args = parser.parse_args(argv)
    paths = list(args.files)
    if args.files_from:
        paths += [Path(line) for line in args.files_from.read_text().splitlines() if line.strip()]
    if not paths:
        parser.error("give raw Parquet files, or --files-from a list of them")
    missing = [p for p in paths if not p.exists()]
    if missing:
        parser.error(f"no such raw file: {missing[0]}")
    summary = run(paths, args.out)
    if args.summary:
        args.summary.write_text(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
