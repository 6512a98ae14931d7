"""Raw game versions in, star schema out: pure Polars, no I/O.

Facts and bridges come from the latest version of each game; dimension members and
``dim_date``'s range come from every version given, so a member stays once seen.

The input is read once (a lazy input is collected, projected to :data:`INPUT_COLUMNS`)
and each list column is exploded once, feeding both its dimension and its bridge. Nested
columns are never filtered, sorted or gathered: Polars copies their strings to do so,
which costs more than everything else together at a million games.
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
    "fact_games": ["game_id"],
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


def _input(games: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """The input columns, read once: every table is built from this one frame."""
    if isinstance(games, pl.LazyFrame):
        return games.select(INPUT_COLUMNS).collect()
    return games.select(INPUT_COLUMNS)


def _latest_rows(frame: pl.DataFrame) -> pl.Series:
    """Row numbers of each game's latest version (as :func:`_flag_latest`), by game id."""
    ids = frame.get_column("id")
    if ids.n_unique() == ids.len():  # one version per game, as in most full builds
        return ids.arg_sort()
    order = ["id", "updated", "_fetched_at", "_row"]
    return (
        frame.lazy()
        .select("id", "updated", "_fetched_at")
        .with_row_index("_row")
        .sort(order, descending=[False, True, True, False])
        .filter(pl.col("id").is_first_distinct())
        .collect()
        .get_column("_row")
    )


def _newest(occurrences: pl.LazyFrame, natural: str) -> pl.Series:
    """True on the occurrences of a member from the versions updated last.

    Only those can win in :func:`merge_dimension` (any other loses to them there too), so
    attributes are taken from these rows alone. The newest ``updated`` per member comes from
    a small aggregate looked up by natural id, cheaper than a window over every occurrence.
    """
    newest = (
        occurrences.group_by(natural).agg(pl.col("updated").max()).drop_nulls(natural).collect()
    )
    member_newest = pl.col(natural).replace_strict(
        newest.get_column(natural), newest.get_column("updated"), default=None
    )
    mask = occurrences.select((pl.col("updated") == member_newest).fill_null(False))
    return mask.collect().to_series()


def _explode(frame: pl.DataFrame, source: _ListSource) -> pl.DataFrame:
    """One row per (game version, list entry): ``_rank``, ``updated``, the entry and its id.

    Exploding reuses the list's values without copying them; nothing here filters the
    entries (which would copy their strings) before they are narrowed down.
    """
    return (
        frame.lazy()
        .select("_rank", "updated", pl.col(source.column).alias("_element"))
        .explode("_element", keep_nulls=False, empty_as_null=False)
        .with_columns(_member(source).struct.field("id").alias(source.dim.natural))
        .collect()
    )


def _candidates(occurrences: pl.DataFrame, source: _ListSource) -> pl.LazyFrame:
    """Dimension members as the newest versions carry them, for :func:`merge_dimension`."""
    natural, member = source.dim.natural, _member(source)
    newest = _newest(occurrences.lazy(), natural)
    # Filtering the attributes, not the entries, copies just the strings kept.
    attributes = occurrences.select(
        natural,
        *[member.struct.field(a).alias(a) for a in source.dim.attributes],
        pl.col("updated").alias("source_updated"),
    )
    return attributes.filter(newest).lazy()


def _esrb_candidates(frame: pl.DataFrame) -> pl.LazyFrame:
    esrb, rating = _DIMS["dim_esrb_rating"], pl.col("esrb_rating")
    attributes = (
        frame.lazy()
        .select(
            rating.struct.field("id").alias(esrb.natural),
            *[rating.struct.field(a).alias(a) for a in esrb.attributes],
            "updated",
        )
        .collect()
    )
    newest = _newest(attributes.lazy(), esrb.natural)
    return attributes.filter(newest).lazy().rename({"updated": "source_updated"})


def _lookup(natural: pl.Expr, dim_table: pl.DataFrame, dim: Dimension) -> pl.Expr:
    """The surrogate key of ``natural`` (null for null) in a complete dimension.

    A hash lookup, cheaper than a join; an id missing from the dimension raises.
    """
    return natural.replace_strict(
        dim_table.get_column(dim.natural), dim_table.get_column(dim.key), return_dtype=pl.Int64
    )


#: Bridge rows are sorted on ``_rank * span + key`` when that fits in an int64.
_CODE_LIMIT = 2**62


def _bridge(
    occurrences: pl.DataFrame, dim_table: pl.DataFrame, source: _ListSource, ids: pl.Series
) -> pl.DataFrame:
    """Bridge rows: one per (game, member), extras at their minimum (nulls last).

    ``ids`` are the latest games' ids in order, ``_rank`` a latest version's index in it,
    so ordering by (``_rank``, key) orders by (game id, key). One int64 code sorts several
    times faster than two columns.
    """
    dim = source.dim
    extras = list(source.extras)
    pairs = (
        occurrences.lazy()
        .filter((pl.col("_rank") >= 0) & pl.col(dim.natural).is_not_null())
        .select(
            "_rank",
            _lookup(pl.col(dim.natural), dim_table, dim).alias(dim.key),
            *[expr.alias(name) for name, expr in source.extras.items()],
        )
    )
    span = int(dim_table.get_column(dim.key).max() or 0) + 1  # type: ignore[arg-type]
    if ids.len() * span < _CODE_LIMIT:
        code = pl.col("_rank") * span + pl.col(dim.key)
        rows = pairs.select(code.alias("_code"), *extras).sort("_code").collect()
        codes = rows.get_column("_code")
        repeated = codes == codes.shift()  # sorted: duplicates are adjacent
        if repeated.any():  # rare: a member listed twice in a game
            if extras:
                minimum = [pl.col(e).min() for e in extras]
                rows = rows.group_by("_code", maintain_order=True).agg(minimum)
            else:
                rows = rows.filter(~repeated.fill_null(False))
            codes = rows.get_column("_code")
        return rows.select(
            ids.gather(codes // span).alias("game_id"),
            (codes % span).alias(dim.key),
            *extras,
        )
    # Too many games or keys for a code: sort on the columns (nulls last, so the first
    # of each run of duplicates holds the smallest extras).
    order = ["_rank", dim.key, *extras]
    first_of_run = (
        (pl.col("_rank") != pl.col("_rank").shift()) | (pl.col(dim.key) != pl.col(dim.key).shift())
    ).fill_null(True)
    rows = pairs.sort(order, nulls_last=True).filter(first_of_run).collect()
    return rows.select(ids.gather(rows.get_column("_rank")).alias("game_id"), dim.key, *extras)


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

    The input's list columns are only ever exploded (never filtered, sorted or gathered,
    which copies their nested strings): every version's entries feed the dimensions, and
    those of the latest versions, told apart by ``_rank``, the bridges.
    """
    prev = _conform(previous)
    frame = _input(games)
    latest = _latest_rows(frame)
    ids = frame.get_column("id").gather(latest).alias("game_id")
    # Index of a row's game in ``ids`` if the row is the game's latest version, else -1.
    rank = pl.repeat(-1, frame.height, dtype=pl.Int64, eager=True).alias("_rank")
    if latest.len():
        rank = rank.scatter(latest, pl.int_range(0, latest.len(), dtype=pl.Int64, eager=True))
    frame = frame.with_columns(rank)

    tables: dict[str, pl.DataFrame] = {}
    for source in _SOURCES:
        dim = source.dim
        occurrences = _explode(frame, source)
        candidates = _candidates(occurrences, source)
        tables[dim.table] = merge_dimension(candidates, prev.get(dim.table), dim).collect()
        tables[source.bridge] = _bridge(occurrences, tables[dim.table], source, ids)
        del occurrences

    esrb = _DIMS["dim_esrb_rating"]
    esrb_plan = merge_dimension(_esrb_candidates(frame), prev.get(esrb.table), esrb)
    date_plan = date_dimension(frame.lazy().select("released"), prev.get("dim_date"))
    tables[esrb.table], tables["dim_date"] = pl.collect_all([esrb_plan, date_plan])
    tables["fact_games"] = _fact_games(frame, latest, tables[esrb.table])
    tables["fact_game_ratings"] = _ratings(frame, ids)
    out = {n: tables[n].select(_POLARS_SCHEMAS[n].names()) for n in STAR_TABLES}
    return StarBuild(tables=out, game_ids=ids)


def _ratings(frame: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    rows = (
        frame.lazy()
        .select("_rank", pl.col("ratings").alias("_element"))
        .explode("_element", keep_nulls=False, empty_as_null=False)
        .select(
            "_rank",
            _ELEMENT.struct.field("id").alias("rating_id"),
            *[_ELEMENT.struct.field(f) for f in ("title", "count", "percent")],
        )
        .filter((pl.col("_rank") >= 0) & pl.col("rating_id").is_not_null())
        .unique(subset=["_rank", "rating_id"], keep="first", maintain_order=True)
        .sort("_rank", "rating_id")
        .collect()
    )
    return rows.with_columns(ids.gather(rows.get_column("_rank")).alias("game_id"))


def _member_count(source: _ListSource) -> pl.Expr:
    """Distinct non-null members in a game's list: the number of its bridge rows."""
    member_id = _member(source, pl.element()).struct.field("id")
    ids = pl.col(source.column).list.agg(member_id.drop_nulls().n_unique())
    name = source.dim.table.removeprefix("dim_") + "_count"
    return ids.fill_null(0).cast(pl.Int32).alias(name)


def _fact_games(frame: pl.DataFrame, latest: pl.Series, esrb_table: pl.DataFrame) -> pl.DataFrame:
    """One row per game from its latest version, in game id order (``latest``'s order).

    Every fact column is gathered once; list columns are only counted in place, never moved.
    """
    esrb = _DIMS["dim_esrb_rating"]
    status = pl.col("added_by_status")
    released = pl.col("released")
    return (
        frame.lazy()
        .select(
            pl.col("id").alias("game_id"),
            *_FACT_PASSTHROUGH,
            *[status.struct.field(s).alias(f"added_{s}") for s in ADDED_STATUSES],
            *_FACT_TAIL,
            date_key(released).alias("released_date_key"),
            _lookup(pl.col("esrb_rating").struct.field("id"), esrb_table, esrb).alias(esrb.key),
            released.dt.year().cast(pl.Int32).alias("release_year"),
            *[_member_count(source) for source in _SOURCES],
        )
        .select(pl.all().gather(latest))
        .collect()
    )


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
