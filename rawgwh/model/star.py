"""Raw game versions in, star schema out: one lazy Polars plan, no I/O.

Facts and bridges come from the latest version of each game; dimension members and
``dim_date``'s range come from every version given, so a member stays once seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl
import pyarrow as pa

from rawgwh.model.dates import date_dimension, date_key
from rawgwh.model.keys import merge_dimension
from rawgwh.model.schema import (
    ADDED_STATUSES,
    DIMENSIONS,
    GAME_TABLES,
    INPUT_COLUMNS,
    STAR_SCHEMAS,
    STAR_TABLES,
    Dimension,
)

__all__ = ["StarBuild", "build_star", "latest_versions", "merge_star", "star_to_arrow"]

_DIMS = {d.table: d for d in DIMENSIONS}

_FACT_PASSTHROUGH = INPUT_COLUMNS[1:12]  # slug ... added
_FACT_TAIL = (
    "metacritic",
    "playtime",
    "suggestions_count",
    "community_rating",
    "saturated_color",
    "dominant_color",
    "background_image",
)


@dataclass(frozen=True, slots=True)
class _ListSource:
    """Where a list dimension's members sit in the raw rows, and what its bridge keeps."""

    dim: Dimension
    column: str
    path: tuple[str, ...]  # struct fields from a list element down to the member
    bridge: str
    extras: dict[str, pl.Expr] = field(default_factory=dict)  # element -> bridge column


_ELEMENT = pl.col("_element")
_SOURCES = (
    _ListSource(
        _DIMS["dim_platform"],
        "platforms",
        ("platform",),
        "bridge_game_platform",
        {"released_at": _ELEMENT.struct.field("released_at").str.to_date("%Y-%m-%d", strict=False)},
    ),
    _ListSource(
        _DIMS["dim_parent_platform"],
        "parent_platforms",
        ("platform",),
        "bridge_game_parent_platform",
    ),
    _ListSource(
        _DIMS["dim_store"],
        "stores",
        ("store",),
        "bridge_game_store",
        {"store_entry_id": _ELEMENT.struct.field("id")},
    ),
    _ListSource(_DIMS["dim_genre"], "genres", (), "bridge_game_genre"),
    _ListSource(_DIMS["dim_tag"], "tags", (), "bridge_game_tag"),
)

_SORT: dict[str, list[str]] = {
    **{d.table: [d.key] for d in DIMENSIONS},
    "dim_date": ["date_key"],
    "fact_games": ["release_year", "game_id"],
    **{s.bridge: ["game_id", s.dim.key] for s in _SOURCES},
    "fact_game_ratings": ["game_id", "rating_id"],
}


def _polars_schema(schema: pa.Schema) -> pl.Schema:
    frame = pl.from_arrow(schema.empty_table())
    assert isinstance(frame, pl.DataFrame)
    return frame.schema


_POLARS_SCHEMAS = {name: _polars_schema(s) for name, s in STAR_SCHEMAS.items()}


@dataclass(frozen=True, slots=True)
class StarBuild:
    """Complete dimensions, plus fact and bridge rows for the games in ``game_ids``."""

    tables: dict[str, pl.DataFrame]
    game_ids: pl.Series

    def to_arrow(self) -> dict[str, pa.Table]:
        return star_to_arrow(self.tables)


def _flag_latest(raw: pl.LazyFrame) -> pl.LazyFrame:
    """``raw`` plus ``_latest``, true on one row per game.

    The latest version has the greatest ``updated``, then ``_fetched_at``; exact ties go to
    the first row. Ranking a narrow copy and stacking the flag back avoids both moving the
    nested columns and nested window expressions (which Polars evaluates per group).
    """
    order = ["id", "updated", "_fetched_at", "_row"]
    flags = (
        raw.select("id", "updated", "_fetched_at")
        .with_row_index("_row")
        .sort(order, descending=[False, True, True, False])
        .with_columns(pl.col("id").is_first_distinct().alias("_latest"))
        .sort("_row")
        .select("_latest")
    )
    return pl.concat([raw, flags], how="horizontal")


def latest_versions(raw: pl.LazyFrame) -> pl.LazyFrame:
    """The latest version of each game in ``raw`` (rows shaped like ``raw.games``)."""
    return _flag_latest(raw).filter("_latest").drop("_latest")


def _sorted(name: str, frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.sort(_SORT[name], nulls_last=True)


def _member(source: _ListSource, element: pl.Expr = _ELEMENT) -> pl.Expr:
    member = element
    for name in source.path:
        member = member.struct.field(name)
    return member


def _occurrences(frame: pl.LazyFrame, source: _ListSource, *columns: pl.Expr) -> pl.LazyFrame:
    """One row per (game version, list entry) with a non-null member id, plus ``columns``."""
    natural = source.dim.natural
    return (
        frame.select("id", "updated", pl.col(source.column).alias("_element"))
        .explode("_element", keep_nulls=False, empty_as_null=False)
        .select(_member(source).struct.field("id").alias(natural), *columns)
        .filter(pl.col(natural).is_not_null())
    )


def _candidates(versions: pl.LazyFrame, source: _ListSource) -> pl.LazyFrame:
    """Dimension members as every version carries them, for :func:`merge_dimension`."""
    member = _member(source)
    attributes = [member.struct.field(a).alias(a) for a in source.dim.attributes]
    return _occurrences(versions, source, *attributes, pl.col("updated").alias("source_updated"))


def _esrb_candidates(versions: pl.LazyFrame) -> pl.LazyFrame:
    esrb, rating = _DIMS["dim_esrb_rating"], pl.col("esrb_rating")
    return versions.select(
        rating.struct.field("id").alias(esrb.natural),
        *[rating.struct.field(a).alias(a) for a in esrb.attributes],
        pl.col("updated").alias("source_updated"),
    ).filter(pl.col(esrb.natural).is_not_null())


def _bridge(latest: pl.LazyFrame, dim_table: pl.LazyFrame, source: _ListSource) -> pl.LazyFrame:
    """Bridge rows: one per (game, member), extras at their minimum."""
    dim = source.dim
    order = ["game_id", dim.key, *source.extras]
    extras = [expr.alias(name) for name, expr in source.extras.items()]
    # After sorting, duplicates are adjacent and the first of a run holds the smallest
    # extras; comparing with the previous row is much cheaper than a group_by.
    first_of_run = (
        (pl.col("game_id") != pl.col("game_id").shift())
        | (pl.col(dim.key) != pl.col(dim.key).shift())
    ).fill_null(True)
    # A narrow explode of its own: sharing the dimension's wide one would make Polars cache
    # every member's strings for all versions.
    return (
        _occurrences(latest, source, pl.col("id").alias("game_id"), *extras)
        .join(dim_table.select(dim.natural, dim.key), on=dim.natural, how="inner")
        .select(order)
        .sort(order, nulls_last=True)
        .filter(first_of_run)
    )


def _conform(previous: Mapping[str, pl.DataFrame] | None) -> dict[str, pl.DataFrame]:
    """Previous tables in this module's column order and types (they may come from Iceberg)."""
    out: dict[str, pl.DataFrame] = {}
    for name, frame in (previous or {}).items():
        if name in _POLARS_SCHEMAS:
            schema = _POLARS_SCHEMAS[name]
            out[name] = frame.select(pl.col(c).cast(t) for c, t in schema.items())
    return out


def build_star(
    games: pl.LazyFrame | pl.DataFrame, previous: Mapping[str, pl.DataFrame] | None = None
) -> StarBuild:
    """Build the star from raw game versions, keeping the keys of ``previous`` dimensions.

    For a full build pass every raw version. For an incremental one pass every raw version
    of the changed games (at least their new versions and their latest) with the previous
    star; :func:`merge_star` then gives the same rows as a full build, up to the surrogate
    key numbers of members first seen in that build (keys follow arrival, not natural id).
    """
    prev = _conform(previous)
    versions = _flag_latest(games.lazy().select(INPUT_COLUMNS))
    latest = versions.filter("_latest")
    plans: dict[str, pl.LazyFrame] = {}
    for source in _SOURCES:
        dim = source.dim
        plans[dim.table] = merge_dimension(_candidates(versions, source), prev.get(dim.table), dim)
        plans[source.bridge] = _bridge(latest, plans[dim.table], source)

    esrb = _DIMS["dim_esrb_rating"]
    plans[esrb.table] = merge_dimension(_esrb_candidates(versions), prev.get(esrb.table), esrb)
    plans["dim_date"] = date_dimension(versions.select("released"), prev.get("dim_date"))
    plans["fact_games"] = _fact_games(latest, plans)
    plans["fact_game_ratings"] = _ratings(latest)
    game_ids = latest.select(pl.col("id").alias("game_id")).sort("game_id")

    names = [n for n in STAR_TABLES if n in plans]
    frames = pl.collect_all([plans[n] for n in names] + [game_ids])
    tables = {n: f.select(_POLARS_SCHEMAS[n].names()) for n, f in zip(names, frames, strict=False)}
    return StarBuild(tables=tables, game_ids=frames[-1].get_column("game_id"))


def _ratings(latest: pl.LazyFrame) -> pl.LazyFrame:
    rows = (
        latest.select(pl.col("id").alias("game_id"), pl.col("ratings").alias("_element"))
        .explode("_element", keep_nulls=False, empty_as_null=False)
        .select(
            "game_id",
            _ELEMENT.struct.field("id").alias("rating_id"),
            *[_ELEMENT.struct.field(f) for f in ("title", "count", "percent")],
        )
        .filter(pl.col("rating_id").is_not_null())
        .unique(subset=["game_id", "rating_id"], keep="first", maintain_order=True)
    )
    return _sorted("fact_game_ratings", rows)


def _member_count(source: _ListSource) -> pl.Expr:
    """Distinct non-null members in a game's list: the number of its bridge rows."""
    member_id = _member(source, pl.element()).struct.field("id")
    ids = pl.col(source.column).list.agg(member_id.drop_nulls().n_unique())
    name = source.dim.table.removeprefix("dim_") + "_count"
    return ids.fill_null(0).cast(pl.Int32).alias(name)


def _fact_games(latest: pl.LazyFrame, plans: Mapping[str, pl.LazyFrame]) -> pl.LazyFrame:
    esrb = _DIMS["dim_esrb_rating"]
    status = pl.col("added_by_status")
    released = pl.col("released")
    fact = latest.select(
        pl.col("id").alias("game_id"),
        *_FACT_PASSTHROUGH,
        *[status.struct.field(s).alias(f"added_{s}") for s in ADDED_STATUSES],
        *_FACT_TAIL,
        date_key(released).alias("released_date_key"),
        released.dt.year().cast(pl.Int32).alias("release_year"),
        pl.col("esrb_rating").struct.field("id").alias("_esrb_id"),
        *[_member_count(source) for source in _SOURCES],
    ).join(
        plans[esrb.table].select(pl.col(esrb.natural).alias("_esrb_id"), esrb.key),
        on="_esrb_id",
        how="left",
    )
    return _sorted("fact_games", fact.select(_POLARS_SCHEMAS["fact_games"].names()))


def merge_star(previous: Mapping[str, pl.DataFrame], build: StarBuild) -> dict[str, pl.DataFrame]:
    """Apply an incremental ``build`` to a complete ``previous`` star, as the warehouse does.

    Per-game tables lose the rows of ``build.game_ids`` and gain the build's rows; the
    build's dimensions are already complete and replace the previous ones.
    """
    prev = _conform(previous)
    out: dict[str, pl.DataFrame] = {}
    for name in STAR_TABLES:
        frame = build.tables[name]
        if name in GAME_TABLES and name in prev:
            kept = prev[name].filter(~pl.col("game_id").is_in(build.game_ids.implode()))
            frame = _sorted(name, pl.concat([kept, frame]).lazy()).collect()
        out[name] = frame
    return out


def star_to_arrow(tables: Mapping[str, pl.DataFrame]) -> dict[str, pa.Table]:
    """Arrow tables cast exactly to :data:`STAR_SCHEMAS` (Polars writes large/view strings)."""
    out: dict[str, pa.Table] = {}
    for name, frame in tables.items():
        schema = STAR_SCHEMAS[name]
        out[name] = frame.select(schema.names).to_arrow().cast(schema)
    return out
