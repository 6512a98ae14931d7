"""The Arrow schema of the raw zone (``raw.games``) and of ``raw.rejects``.

One row is one *version* of a game: the RAWG id plus its ``updated`` timestamp. Typed
top-level columns make the raw zone queryable; the nested lists keep their structure as
Arrow structs; ``record`` keeps the record exactly as the API sent it, so a field we do
not model today is not lost.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "REF",
    "PLATFORM_ENTRY",
    "STORE_ENTRY",
    "TAG",
    "GENRE",
    "ESRB",
    "RATING",
    "SCREENSHOT",
    "ADDED_BY_STATUS",
    "GAME_FIELDS",
    "META_FIELDS",
    "RAW_GAMES_SCHEMA",
    "REJECTS_SCHEMA",
    "WIRE_GAME",
]

STR = pa.string()
I64 = pa.int64()
F64 = pa.float64()

REF = pa.struct([("id", I64), ("name", STR), ("slug", STR)])
PLATFORM_ENTRY = pa.struct([("platform", REF), ("released_at", STR)])
PARENT_PLATFORM_ENTRY = pa.struct([("platform", REF)])
STORE_REF = pa.struct([("id", I64), ("name", STR), ("slug", STR), ("domain", STR)])
STORE_ENTRY = pa.struct([("id", I64), ("store", STORE_REF)])
GENRE = pa.struct([("id", I64), ("name", STR), ("slug", STR), ("games_count", I64)])
TAG = pa.struct(
    [
        ("id", I64),
        ("name", STR),
        ("slug", STR),
        ("language", STR),
        ("games_count", I64),
        ("image_background", STR),
    ]
)
ESRB = pa.struct([("id", I64), ("name", STR), ("slug", STR), ("name_en", STR), ("name_ru", STR)])
RATING = pa.struct([("id", I64), ("title", STR), ("count", I64), ("percent", F64)])
SCREENSHOT = pa.struct([("id", I64), ("image", STR)])
ADDED_BY_STATUS = pa.struct(
    [(s, I64) for s in ("yet", "owned", "beaten", "toplay", "dropped", "playing")]
)


def _fields(dates_as: pa.DataType, ts_as: pa.DataType) -> list[pa.Field]:
    return [
        pa.field("id", I64, nullable=False),
        pa.field("slug", STR),
        pa.field("name", STR),
        pa.field("released", dates_as),
        pa.field("tba", pa.bool_()),
        pa.field("updated", ts_as, nullable=False),
        pa.field("rating", F64),
        pa.field("rating_top", I64),
        pa.field("ratings_count", I64),
        pa.field("reviews_count", I64),
        pa.field("reviews_text_count", I64),
        pa.field("added", I64),
        pa.field("added_by_status", ADDED_BY_STATUS),
        pa.field("metacritic", I64),
        pa.field("playtime", I64),
        pa.field("suggestions_count", I64),
        pa.field("community_rating", F64),
        pa.field("background_image", STR),
        pa.field("saturated_color", STR),
        pa.field("dominant_color", STR),
        pa.field("esrb_rating", ESRB),
        pa.field("platforms", pa.list_(PLATFORM_ENTRY)),
        pa.field("parent_platforms", pa.list_(PARENT_PLATFORM_ENTRY)),
        pa.field("genres", pa.list_(GENRE)),
        pa.field("stores", pa.list_(STORE_ENTRY)),
        pa.field("tags", pa.list_(TAG)),
        pa.field("ratings", pa.list_(RATING)),
        pa.field("short_screenshots", pa.list_(SCREENSHOT)),
    ]


# What the JSON looks like before dates and timestamps are parsed.
WIRE_GAME = pa.struct([pa.field(f.name, f.type) for f in _fields(dates_as=STR, ts_as=STR)])

GAME_FIELDS = _fields(dates_as=pa.date32(), ts_as=pa.timestamp("us"))

META_FIELDS = [
    # The original record, re-serialised compactly: nothing the API sent is lost.
    pa.field("record", pa.large_string(), nullable=False),
    pa.field("_sync_id", STR, nullable=False),
    pa.field("_fetched_at", pa.timestamp("us"), nullable=False),
]

RAW_GAMES_SCHEMA = pa.schema(GAME_FIELDS + META_FIELDS)

REJECTS_SCHEMA = pa.schema(
    [
        pa.field("reason", STR, nullable=False),
        pa.field("record", pa.large_string(), nullable=False),
        pa.field("_sync_id", STR, nullable=False),
        pa.field("_fetched_at", pa.timestamp("us"), nullable=False),
    ]
)
