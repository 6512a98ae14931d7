"""``dim_date``: every day from the earliest to the latest release date ever seen."""

from __future__ import annotations

import polars as pl

__all__ = ["date_dimension", "date_key"]


def date_key(date: pl.Expr) -> pl.Expr:
    """``yyyymmdd`` as an int32 (null for a null date)."""
    # Date parts are int8: widen before multiplying.
    year, month, day = (p.cast(pl.Int32) for p in (date.dt.year(), date.dt.month(), date.dt.day()))
    return year * 10_000 + month * 100 + day


def date_dimension(released: pl.LazyFrame, previous: pl.DataFrame | None) -> pl.LazyFrame:
    """Days spanning the ``released`` column and the previous ``dim_date``, so it only grows."""
    bounds = [released.select(start=pl.col("released"), end=pl.col("released"))]
    if previous is not None and previous.height:
        bounds.append(previous.lazy().select(start=pl.col("date"), end=pl.col("date")))
    day = pl.col("date")
    return (
        pl.concat(bounds, how="vertical")
        .select(pl.col("start").min(), pl.col("end").max())
        # date_range fails on null bounds; a filtered-out row yields an empty dimension.
        .filter(pl.col("start").is_not_null())
        .select(pl.date_ranges("start", "end", "1d").alias("date"))
        .explode("date")
        .select(
            date_key(day).alias("date_key"),
            day,
            day.dt.year().cast(pl.Int32).alias("year"),
            day.dt.quarter().cast(pl.Int32).alias("quarter"),
            day.dt.month().cast(pl.Int32).alias("month"),
            day.dt.day().cast(pl.Int32).alias("day"),
            day.dt.weekday().cast(pl.Int32).alias("weekday"),
            day.dt.strftime("%A").alias("day_name"),
            day.dt.strftime("%B").alias("month_name"),
            day.dt.week().cast(pl.Int32).alias("iso_week"),
            day.dt.iso_year().cast(pl.Int32).alias("iso_year"),
            (day.dt.weekday() >= 6).alias("is_weekend"),
        )
    )
