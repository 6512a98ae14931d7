"""The star schema's tables, as Arrow schemas, and the dimensions' key columns.

Integer widths follow Iceberg's types (int and long only): surrogate keys, natural ids and
counts from the API are int64; ``date_key``, date parts and per-game counts are int32.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

__all__ = [
    "DIMENSIONS",
    "Dimension",
    "GAME_TABLES",
    "INPUT_COLUMNS",
    "STAR_SCHEMAS",
    "STAR_TABLES",
]

#: The ``raw.games`` columns the model reads: project to these when scanning the raw zone.
INPUT_COLUMNS: tuple[str, ...] = (
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
)

STR = pa.string()
I32 = pa.int32()
I64 = pa.int64()
F64 = pa.float64()
TS = pa.timestamp("us")


@dataclass(frozen=True, slots=True)
class Dimension:
    """A keyed dimension: surrogate key, RAWG's natural id, and the attributes kept."""

    table: str
    key: str
    natural: str
    attributes: tuple[str, ...]


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("dim_platform", "platform_key", "platform_id", ("name", "slug")),
    Dimension("dim_parent_platform", "parent_platform_key", "parent_platform_id", ("name", "slug")),
    Dimension("dim_store", "store_key", "store_id", ("name", "slug", "domain")),
    Dimension("dim_genre", "genre_key", "genre_id", ("name", "slug", "games_count")),
    Dimension("dim_tag", "tag_key", "tag_id", ("name", "slug", "language", "games_count")),
    Dimension(
        "dim_esrb_rating",
        "esrb_rating_key",
        "esrb_rating_id",
        ("name", "slug", "name_en", "name_ru"),
    ),
)

_ATTRIBUTE_TYPES = {"games_count": I64}


def _key(name: str, type_: pa.DataType = I64) -> pa.Field:
    return pa.field(name, type_, nullable=False)


def _dimension_schema(dim: Dimension) -> pa.Schema:
    return pa.schema(
        [_key(dim.key), _key(dim.natural)]
        + [pa.field(a, _ATTRIBUTE_TYPES.get(a, STR)) for a in dim.attributes]
        # The `updated` of the game version the attributes were taken from: lets an
        # incremental build decide, exactly as a full one would, which value is newest.
        + [_key("source_updated", TS)]
    )


_DATE = pa.schema(
    [
        _key("date_key", I32),
        _key("date", pa.date32()),
        _key("year", I32),
        _key("quarter", I32),
        _key("month", I32),
        _key("day", I32),
        _key("weekday", I32),  # ISO: Monday = 1 ... Sunday = 7
        _key("day_name", STR),
        _key("month_name", STR),
        _key("iso_week", I32),
        _key("iso_year", I32),
        _key("is_weekend", pa.bool_()),
    ]
)

ADDED_STATUSES = ("yet", "owned", "beaten", "toplay", "dropped", "playing")
COUNTED = ("platform", "parent_platform", "store", "genre", "tag")

_FACT_GAMES = pa.schema(
    [
        _key("game_id"),
        pa.field("name", STR),
        pa.field("slug", STR),
        pa.field("released", pa.date32()),
        pa.field("tba", pa.bool_()),
        _key("updated", TS),
        pa.field("rating", F64),
        pa.field("rating_top", I64),
        pa.field("ratings_count", I64),
        pa.field("reviews_count", I64),
        pa.field("reviews_text_count", I64),
        pa.field("added", I64),
        *[pa.field(f"added_{s}", I64) for s in ADDED_STATUSES],
        pa.field("metacritic", I64),
        pa.field("playtime", I64),
        pa.field("suggestions_count", I64),
        pa.field("community_rating", F64),
        pa.field("saturated_color", STR),
        pa.field("dominant_color", STR),
        pa.field("background_image", STR),
        pa.field("released_date_key", I32),
        pa.field("esrb_rating_key", I64),
        pa.field("release_year", I32),
        *[_key(f"{c}_count", I32) for c in COUNTED],
    ]
)

_BRIDGES = {
    "bridge_game_platform": [_key("platform_key"), pa.field("released_at", pa.date32())],
    "bridge_game_parent_platform": [_key("parent_platform_key")],
    "bridge_game_store": [_key("store_key"), pa.field("store_entry_id", I64)],
    "bridge_game_genre": [_key("genre_key")],
    "bridge_game_tag": [_key("tag_key")],
    "fact_game_ratings": [
        _key("rating_id"),
        pa.field("title", STR),
        pa.field("count", I64),
        pa.field("percent", F64),
    ],
}

STAR_SCHEMAS: dict[str, pa.Schema] = {
    **{d.table: _dimension_schema(d) for d in DIMENSIONS},
    "dim_date": _DATE,
    "fact_games": _FACT_GAMES,
    **{name: pa.schema([_key("game_id"), *fields]) for name, fields in _BRIDGES.items()},
}

#: Every table, dimensions first (the order to create and publish them in).
STAR_TABLES: tuple[str, ...] = tuple(STAR_SCHEMAS)

#: Tables holding rows per game: an incremental build replaces these games' rows.
GAME_TABLES: tuple[str, ...] = ("fact_games", *_BRIDGES)
