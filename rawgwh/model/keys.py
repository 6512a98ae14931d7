"""Surrogate keys that last: merge dimension members with the previous dimension.

An existing member keeps its key forever; new members get ``max(previous key) + 1, ...`` in
order of their natural id. Attributes come from the newest game version carrying the
member (``source_updated``); ties between versions updated at the same instant go to the
greatest attribute values, a total order, so the result does not depend on how the game
versions were split into builds.
"""

from __future__ import annotations

import polars as pl

from rawgwh.model.schema import Dimension

__all__ = ["merge_dimension"]


def merge_dimension(
    candidates: pl.LazyFrame, previous: pl.DataFrame | None, dim: Dimension
) -> pl.LazyFrame:
    """The complete dimension: previous members plus ``candidates``, keyed.

    ``candidates`` has one row per member occurrence: the natural id, the attributes and
    ``source_updated`` (the ``updated`` of the game version it came from).
    """
    natural, key = pl.col(dim.natural), pl.col(dim.key)
    columns = [dim.natural, *dim.attributes, "source_updated"]
    sources = [candidates.select(columns)]
    next_key = 1
    if previous is not None and previous.height:
        sources.append(previous.lazy().select(columns))
        next_key = int(previous.get_column(dim.key).max()) + 1  # type: ignore[arg-type]
    newest = (
        pl.concat(sources, how="vertical")
        .filter(pl.col("source_updated") == pl.col("source_updated").max().over(dim.natural))
        .unique()
        .sort([dim.natural, *dim.attributes], nulls_last=False)
        .unique(subset=dim.natural, keep="last", maintain_order=True)
    )
    if previous is not None and previous.height:
        old_keys = previous.lazy().select(dim.natural, dim.key)
        newest = newest.join(old_keys, on=dim.natural, how="left")
    else:
        newest = newest.with_columns(pl.lit(None, dtype=pl.Int64).alias(dim.key))
    # Sorted by natural id, the running count of unkeyed rows numbers new members in order.
    return (
        newest.sort(dim.natural)
        .with_columns(
            pl.coalesce(key, pl.lit(next_key - 1) + key.is_null().cast(pl.Int64).cum_sum())
            .cast(pl.Int64)
            .alias(dim.key)
        )
        .select(dim.key, natural, *dim.attributes, "source_updated")
        .sort(dim.key)
    )
